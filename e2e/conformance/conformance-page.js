/* global window */
// Page-side half of the ONNX conformance run, injected as a script (plain JS: it runs in the
// browser as written, so no bundler helper can leak into it). It drives the public engine API
// (window.edgeinfer, worker mode) with an in-memory manifest, and optionally raw onnxruntime-web.
(() => {
  const VIEWS = {
    float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
    int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
  };

  function decode(wire) {
    if (wire.dtype === 'string') return { dtype: 'string', dims: wire.dims, data: [...wire.data] };
    const binary = atob(wire.data);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return { dtype: wire.dtype, dims: wire.dims, data: new VIEWS[wire.dtype](bytes.buffer) };
  }

  function encode(tensor) {
    const dims = Array.from(tensor.dims, Number);
    if (tensor.dtype === 'string') return { dtype: 'string', dims, data: Array.from(tensor.data) };
    const view = tensor.data;
    // onnxruntime-web returns float16 as a Float16Array where the browser has one: carry the bits.
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    let binary = '';
    for (let offset = 0; offset < bytes.length; offset += 0x8000) binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
    return { dtype: tensor.dtype, dims, data: btoa(binary) };
  }

  function bytesOf(base64) {
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  async function fileEntry(bytes, type) {
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
    const sha256 = Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
    return { path: URL.createObjectURL(new Blob([bytes], { type })), size: bytes.byteLength, sha256 };
  }

  /**
   * The variant's files as blob: URLs (entry first). A TF.js model.json names its weight files;
   * blob URLs have no relative form, so its weightsManifest is pointed at the weights' blob URL.
   */
  async function variantFiles(testCase) {
    if (!testCase.tfjs) return [await fileEntry(bytesOf(testCase.modelBase64), 'application/octet-stream')];
    const weights = await fileEntry(bytesOf(testCase.tfjs.weightsBase64), 'application/octet-stream');
    const modelJson = { ...testCase.tfjs.modelJson, weightsManifest: testCase.tfjs.modelJson.weightsManifest.map((group) => ({ ...group, paths: [weights.path] })) };
    const entry = await fileEntry(new TextEncoder().encode(JSON.stringify(modelJson)), 'application/json');
    return [entry, weights];
  }

  /** A manifest in memory: one model, one variant whose files (and probe) are blob: URLs. */
  function manifestFor(testCase, files, probes) {
    const shape = (dims, prefix) => dims.map((dim, index) => (dim > 0 ? dim : `${prefix}${index}`));
    const variants = Object.fromEntries(
      probes.map(([name, probe]) => [name, { format: testCase.format ?? 'onnx', dtype: 'float32', files, ...(probe ? { probe } : {}) }]),
    );
    return {
      schemaVersion: 1,
      models: {
        [testCase.name]: {
          task: 'check',
          channels: { stable: '1' },
          versions: {
            1: {
              inputs: testCase.inputs.map((entry) => ({ name: entry.name, dtype: entry.tensor.dtype, shape: shape(entry.tensor.dims, 'd') })),
              outputs: testCase.outputs.map((entry) => ({ name: entry.name, dtype: entry.tensor.dtype, shape: entry.tensor.dims.map((_, index) => `o${index}`) })),
              variants,
            },
          },
        },
      },
    };
  }

  async function runEngineCase(engine, testCase, backends) {
    const files = await variantFiles(testCase);
    // A reference probe (inputs and expected outputs computed in Node), served like a model file.
    // testCase.variants: [{ name, probe }] in preference order, all over the same files.
    const probeEntry = async (probe) =>
      probe ? { ...(await fileEntry(new TextEncoder().encode(probe.text), 'application/json')), ...(probe.tolerance ? { tolerance: probe.tolerance } : {}) } : undefined;
    const wanted = testCase.variants ?? [{ name: 'fp32', probe: testCase.probe }];
    const probes = [];
    for (const entry of wanted) probes.push([entry.name, await probeEntry(entry.probe)]);
    const manifestUrl = URL.createObjectURL(new Blob([JSON.stringify(manifestFor(testCase, files, probes))], { type: 'application/json' }));
    let loaded;
    try {
      loaded = await engine.load(`${manifestUrl}#${testCase.name}`, { backends, version: '1', variants: wanted.map((entry) => entry.name) });
      const feeds = Object.fromEntries(testCase.inputs.map((entry) => [entry.name, decode(entry.tensor)]));
      const result = await loaded.run(feeds);
      const encoded = {};
      for (const entry of testCase.outputs) if (result.outputs[entry.name]) encoded[entry.name] = encode(result.outputs[entry.name]);
      return { status: 'ran', outputs: encoded, backend: result.backend, variant: loaded.info.variant, fallbacks: loaded.info.fallbacks };
    } catch (error) {
      const fallbacks = error?.details?.fallbacks ?? loaded?.info?.fallbacks ?? [];
      return { status: 'error', code: error?.code ?? 'untyped', message: String(error?.message ?? error).slice(0, 400), fallbacks };
    } finally {
      await loaded?.dispose?.().catch(() => undefined);
      URL.revokeObjectURL(manifestUrl);
      for (const file of files) URL.revokeObjectURL(file.path);
      for (const [, probe] of probes) if (probe) URL.revokeObjectURL(probe.path);
    }
  }

  async function runRawCase(ort, testCase) {
    const bytes = bytesOf(testCase.modelBase64);
    let session;
    try {
      session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      const feeds = {};
      for (const entry of testCase.inputs) {
        const tensor = decode(entry.tensor);
        feeds[entry.name] = new ort.Tensor(tensor.dtype, tensor.data, tensor.dims);
      }
      const outputs = await session.run(feeds);
      const encoded = {};
      for (const entry of testCase.outputs) {
        const tensor = outputs[entry.name];
        if (tensor) encoded[entry.name] = encode({ dtype: tensor.type, dims: tensor.dims, data: tensor.data });
      }
      return { status: 'ran', outputs: encoded, backend: 'raw-ort-wasm', fallbacks: [] };
    } catch (error) {
      return { status: 'error', code: 'raw', message: String(error?.message ?? error).slice(0, 400), fallbacks: [] };
    } finally {
      await session?.release?.().catch(() => undefined);
    }
  }

  window.__conformance = { runEngineCase, runRawCase, decode, encode };
})();
