// The benchmark page: driven by e2e/bench/run.ts through page.evaluate(window.bench.*).
// The engine runs in its worker; the raw libraries run on this page's main thread, in the same
// browser session, on the same inputs, so the engine's overhead is a ratio measured side by side.
import { createEngine, createTensor, type Model, type RuntimeEngine } from '@edgeinfer/runtime';
import { createTelemetry } from '@edgeinfer/telemetry';
import type * as Ort from 'onnxruntime-web';
import type * as Tf from '@tensorflow/tfjs';
// onnxruntime-web's default entry (JSEP build) for the raw WebGPU reference; raw wasm uses the wasm-only build, as the engine.
import ortMjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url';
import ortWasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
// Transformers.js carries its own onnxruntime-web (1.31 dev) and imports its webgpu entry, which
// pairs with the asyncify build. Without local paths it fetches them from a CDN.
import hfOrtMjsUrl from '../../node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs?url';
import hfOrtWasmUrl from '../../node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm?url';
import tfjsWasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import tfjsWasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import tfjsWasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type {
  BenchApi,
  BenchEnvironment,
  ClassifyResult,
  GalleryPrediction,
  LoadResult,
  MemorySample,
  TelemetryOverheadRequest,
  TelemetryOverheadResult,
  TimingOptions,
} from './bench-api.js';
import { dwell, timeToFirstResult } from './ttfr.js';

const MANIFEST_URL = new URL('/models/manifest.json', location.href).href;

/** The same pseudo-random input for the engine and the raw libraries (seeded, values in [-1, 1)). */
function seededInput(count: number, seed = 1): Float32Array {
  const data = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 31 - 1;
  }
  return data;
}

const product = (dims: readonly number[]) => dims.reduce((total, dim) => total * dim, 1);

/** Warm-up runs, then timed runs until `runs` or `maxMs` (at least 3 timed runs). */
async function timeRuns(options: TimingOptions, runOnce: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < options.warmup; i++) await runOnce();
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < options.runs && (samples.length < 3 || performance.now() - started < options.maxMs)) {
    const runStarted = performance.now();
    await runOnce();
    samples.push(performance.now() - runStarted);
  }
  return samples;
}

async function measureMemory(timeoutMs: number): Promise<MemorySample> {
  const pageJsHeapBytes = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize ?? null;
  const measure = (performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> }).measureUserAgentSpecificMemory;
  let userAgentBytes: number | null = null;
  // Chromium answers at its next garbage collection, which can be 20 s away: bounded by timeoutMs.
  if (measure && crossOriginIsolated && timeoutMs > 0) {
    const timeout = new Promise<null>((resolve) => setTimeout(() => resolve(null), timeoutMs));
    userAgentBytes = (await Promise.race([measure.call(performance).then((result) => result.bytes), timeout])) ?? null;
  }
  return { userAgentBytes, pageJsHeapBytes };
}

async function galleryBlobs(): Promise<{ file: string; labelIndex: number; blob: Blob }[]> {
  const index = (await (await fetch('/models/gallery/index.json')).json()) as { file: string; labelIndex: number }[];
  return Promise.all(index.map(async (entry) => ({ ...entry, blob: await (await fetch(`/models/gallery/${entry.file}`)).blob() })));
}

async function engineWasmThreads(engine: RuntimeEngine): Promise<number | null> {
  const probe = await engine.probe();
  const threads = (probe['ort-wasm']?.details as { threads?: number } | undefined)?.threads;
  return typeof threads === 'number' ? threads : null;
}

function inputFor(model: Model, batch: number) {
  const spec = model.info.inputs[0]!;
  const dims = spec.shape.map((dim) => (typeof dim === 'number' ? dim : batch));
  return { name: spec.name, dims, data: seededInput(product(dims)) };
}

const ortModules = new Map<'wasm' | 'webgpu', Promise<typeof Ort>>();
let ortThreads: number | undefined;

/**
 * The build the engine runs for that execution provider: the wasm-only build for wasm; for WebGPU
 * the default entry (JSEP), whose files are given by URL. numThreads is read once, when
 * onnxruntime-web starts its wasm: one thread count per page load.
 */
function loadOrt(threads: number, executionProvider: 'wasm' | 'webgpu'): Promise<typeof Ort> {
  if (ortThreads !== undefined && ortThreads !== threads) {
    throw new Error(`onnxruntime-web already started with ${ortThreads} threads on this page; reload it for ${threads}.`);
  }
  ortThreads = threads;
  let pending = ortModules.get(executionProvider);
  if (!pending) {
    pending = (executionProvider === 'wasm' ? import('onnxruntime-web/wasm') : import('onnxruntime-web')).then((ort) => {
      if (executionProvider === 'webgpu') ort.env.wasm.wasmPaths = { mjs: ortMjsUrl, wasm: ortWasmUrl };
      ort.env.wasm.numThreads = threads;
      ort.env.logLevel = 'error';
      return ort;
    });
    ortModules.set(executionProvider, pending);
  }
  return pending;
}

let tfModule: Promise<typeof Tf> | undefined;

async function loadTf(backend: 'webgl' | 'webgpu' | 'wasm'): Promise<typeof Tf> {
  tfModule ??= import('@tensorflow/tfjs').then((tf) => {
    tf.env().set('PROD', true);
    return tf;
  });
  const tf = await tfModule;
  if (backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (backend === 'wasm') {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    // Same setting as the engine's TF.js wasm backend (its threaded build breaks in minified chunks).
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setWasmPaths({ 'tfjs-backend-wasm.wasm': tfjsWasmPlain, 'tfjs-backend-wasm-simd.wasm': tfjsWasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': tfjsWasmThreadedSimd });
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js could not start ${backend}`);
  await tf.ready();
  if (tf.getBackend() !== backend) throw new Error(`TF.js is on ${tf.getBackend()}, not ${backend}`);
  return tf;
}

async function environment(): Promise<BenchEnvironment> {
  let webgpu: BenchEnvironment['webgpu'] = null;
  const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
  if (adapter) {
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    webgpu = {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isFallbackAdapter: info.isFallbackAdapter ?? null,
      features: [...adapter.features].sort(),
    };
  }
  let webgl: BenchEnvironment['webgl'] = null;
  const gl = document.createElement('canvas').getContext('webgl2');
  if (gl) {
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    webgl = {
      vendor: String(gl.getParameter(debug ? debug.UNMASKED_VENDOR_WEBGL : gl.VENDOR)),
      renderer: String(gl.getParameter(debug ? debug.UNMASKED_RENDERER_WEBGL : gl.RENDERER)),
    };
  }
  const engine = createEngine();
  try {
    const probe = await engine.probe();
    return {
      userAgent: navigator.userAgent,
      crossOriginIsolated,
      hardwareConcurrency: navigator.hardwareConcurrency,
      deviceMemoryGb: (navigator as Navigator & { deviceMemory?: number }).deviceMemory ?? null,
      webgpu,
      webgl,
      engineProbe: probe as Record<string, unknown>,
      engineWasmThreads: await engineWasmThreads(engine),
      measureMemoryAvailable: 'measureUserAgentSpecificMemory' in performance && crossOriginIsolated,
    };
  } finally {
    await engine.dispose();
  }
}

let memoryHeld: { engine: RuntimeEngine; model: Model | undefined } | undefined;

/**
 * Telemetry on the inference path: the record() call timed on its own, and whole inferences on an
 * engine with telemetry beside one without, interleaved run by run so load on the machine falls on both.
 * Events go to a fetch that answers at once: what is measured is the page's work, not the network.
 */
async function telemetryOverhead(request: TelemetryOverheadRequest): Promise<TelemetryOverheadResult> {
  let delivered = 0;
  const sink: typeof fetch = async (_url, init) => {
    delivered += (JSON.parse(String(init?.body)) as { events: unknown[] }).events.length;
    return new Response('{"accepted":0,"duplicates":0}', { status: 200 });
  };
  const telemetryOptions = { endpoint: location.origin, appKey: 'bench', fetch: sink, lifecycle: false };
  const plain = createEngine();
  const reporting = createEngine({ telemetry: telemetryOptions });
  const standalone = createTelemetry(telemetryOptions);
  try {
    const target = `${MANIFEST_URL}#${request.modelId}`;
    const options = { backends: [request.backend], variants: [request.variant] };
    const [model, reportingModel] = [await plain.load(target, options), await reporting.load(target, options)];
    const input = inputFor(model, 1);
    const runOnce = (which: Model) => which.run({ [input.name]: createTensor('float32', input.data, input.dims) });
    const event = { type: 'inference', model: { id: model.info.id, version: model.info.version, variant: model.info.variant }, backend: model.info.backend, queueMs: 0.01, runMs: 0.2, totalMs: 0.21 } as const;
    const inferenceMs: number[] = [];
    const withTelemetryMs: number[] = [];
    const recordUs: number[] = [];
    for (let index = 0; index < request.warmup + request.runs; index += 1) {
      let started = performance.now();
      await runOnce(model);
      const plainMs = performance.now() - started;
      started = performance.now();
      await runOnce(reportingModel);
      const reportingMs = performance.now() - started;
      started = performance.now();
      for (let record = 0; record < request.recordsPerBlock; record += 1) standalone.record(event);
      const blockUs = ((performance.now() - started) * 1000) / request.recordsPerBlock;
      if (index < request.warmup) continue;
      inferenceMs.push(plainMs);
      withTelemetryMs.push(reportingMs);
      recordUs.push(blockUs);
    }
    await standalone.flush();
    return { inferenceMs, withTelemetryMs, recordUs, delivered };
  } finally {
    await Promise.all([plain.dispose(), reporting.dispose(), standalone.close()]);
  }
}

const bench: BenchApi = {
  environment,
  timeToFirstResult,
  dwell,
  telemetryOverhead,

  async engineRun(request) {
    const engine = createEngine();
    try {
      const model = await engine.load(`${MANIFEST_URL}#${request.modelId}`, {
        ...(request.backend ? { backends: [request.backend] } : {}),
        ...(request.variant ? { variants: [request.variant] } : {}),
        ...(request.select ? { select: request.select } : {}),
      });
      const input = inputFor(model, request.batch ?? 1);
      const allWorkerRunMs: number[] = [];
      const samplesMs = await timeRuns(request, async () => {
        // A fresh tensor over the same data each run: the default (copy to the worker) path an app takes.
        const result = await model.run({ [input.name]: createTensor('float32', input.data, input.dims) });
        allWorkerRunMs.push(result.timings.runMs);
      });
      // The backend's own time inside the worker for the timed runs (the last ones; warm-ups come first).
      const workerRunMs = allWorkerRunMs.slice(-samplesMs.length);
      let gallery: GalleryPrediction[] | undefined;
      if (request.gallery) {
        gallery = [];
        for (const entry of await galleryBlobs()) {
          const { top } = await model.classify(entry.blob);
          gallery.push({ file: entry.file, labelIndex: entry.labelIndex, top1: top[0]!.index });
        }
      }
      const info = model.info;
      return {
        backend: info.backend,
        version: info.version,
        variant: info.variant,
        dtype: info.dtype,
        sizeBytes: info.sizeBytes,
        selectionReason: info.selectionReason,
        fallbacks: info.fallbacks.map(({ backend, code, message }) => ({ backend, code, message })),
        loadTimings: { ...info.timings },
        fromCache: info.fromCache,
        samplesMs,
        workerRunMs,
        ...(gallery ? { gallery } : {}),
        wasmThreads: await engineWasmThreads(engine),
      };
    } finally {
      await engine.dispose();
    }
  },

  async rawOrtWorker(request) {
    const bytes = new Uint8Array(await (await fetch(request.modelUrl)).arrayBuffer());
    const worker = new Worker(new URL('./bare-ort-worker.ts', import.meta.url), { type: 'module', name: 'bare-ort' });
    try {
      const compileStarted = performance.now();
      await new Promise<void>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<{ ready?: boolean; error?: string }>) => (event.data.ready ? resolve() : reject(new Error(event.data.error)));
        worker.onerror = (event) => reject(new Error(event.message));
        worker.postMessage({ init: bytes, threads: request.threads }, [bytes.buffer]);
      });
      const compileMs = performance.now() - compileStarted;
      const dims = request.inputShape.map((dim, index) => (index === 0 ? (request.batch ?? 1) : dim));
      const data = seededInput(product(dims));
      let nextId = 0;
      const workerRunMs: number[] = [];
      const samplesMs = await timeRuns(request, () =>
        new Promise<void>((resolve) => {
          worker.onmessage = (event: MessageEvent<{ runMs: number }>) => {
            workerRunMs.push(event.data.runMs);
            resolve();
          };
          // Copied, as the engine's default run() copies its input (structured clone).
          worker.postMessage({ id: nextId++, inputName: request.inputName, data, dims });
        }),
      );
      return { samplesMs, compileMs, threads: request.threads, workerRunMs: workerRunMs.slice(-samplesMs.length) };
    } finally {
      worker.terminate();
    }
  },

  async rawOrt(request) {
    const ort = await loadOrt(request.threads, request.executionProvider);
    const bytes = new Uint8Array(await (await fetch(request.modelUrl)).arrayBuffer());
    const compileStarted = performance.now();
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: [request.executionProvider],
      graphOptimizationLevel: 'all',
      ...(request.foldInt8Weights ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
    });
    const compileMs = performance.now() - compileStarted;
    try {
      const dims = request.inputShape.map((dim, index) => (index === 0 ? (request.batch ?? 1) : dim));
      const data = seededInput(product(dims));
      const samplesMs = await timeRuns(request, async () => {
        const outputs = await session.run({ [request.inputName]: new ort.Tensor('float32', data, dims) });
        // Read the output back, as the engine does (on WebGPU this is the GPU -> CPU copy).
        for (const output of Object.values(outputs)) await output.getData();
      });
      return { samplesMs, compileMs, threads: ort.env.wasm.numThreads ?? request.threads };
    } finally {
      await session.release();
    }
  },

  async rawTfjs(request) {
    const tf = await loadTf(request.backend);
    const compileStarted = performance.now();
    const model = await tf.loadLayersModel(request.modelUrl);
    const compileMs = performance.now() - compileStarted;
    try {
      const dims = [request.batch ?? 1, ...request.inputShape];
      const data = seededInput(product(dims));
      const samplesMs = await timeRuns(request, async () => {
        const output = tf.tidy(() => model.predict(tf.tensor(data, dims)) as Tf.Tensor);
        await output.data();
        output.dispose();
      });
      return { samplesMs, compileMs, activeBackend: tf.getBackend() };
    } finally {
      model.dispose();
    }
  },

  async oursClassify(request): Promise<ClassifyResult> {
    const blob = await (await fetch(request.imageUrl)).blob();
    const engine = createEngine();
    try {
      const loadStarted = performance.now();
      const model = await engine.load(`${MANIFEST_URL}#${request.modelId}`, { backends: [request.backend], variants: [request.variant] });
      const loadMs = performance.now() - loadStarted;
      let topLabel = '';
      const samplesMs = await timeRuns(request, async () => {
        const { top } = await model.classify(blob);
        topLabel = top[0]!.label;
      });
      return { samplesMs, loadMs, topLabel, backend: model.info.backend };
    } finally {
      await engine.dispose();
    }
  },

  async transformersClassify(request): Promise<ClassifyResult> {
    const { pipeline, env, RawImage } = await import('@huggingface/transformers');
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = request.localModelPath;
    env.useBrowserCache = false;
    const wasm = env.backends.onnx.wasm as { wasmPaths?: unknown; numThreads?: number };
    wasm.wasmPaths = { mjs: hfOrtMjsUrl, wasm: hfOrtWasmUrl };
    wasm.numThreads = request.threads;
    const blob = await (await fetch(request.imageUrl)).blob();
    const loadStarted = performance.now();
    const classifier = await pipeline('image-classification', request.modelName, { device: 'wasm', dtype: 'fp32' });
    const loadMs = performance.now() - loadStarted;
    try {
      let topLabel = '';
      const samplesMs = await timeRuns(request, async () => {
        const output = (await classifier(await RawImage.fromBlob(blob))) as { label: string; score: number }[];
        topLabel = output[0]!.label;
      });
      return { samplesMs, loadMs, topLabel, backend: `wasm (${wasm.numThreads} threads)` };
    } finally {
      await classifier.dispose();
    }
  },

  async loadToFirstResult(request): Promise<LoadResult> {
    const started = performance.now();
    const engine = createEngine();
    try {
      const model = await engine.load(`${MANIFEST_URL}#${request.modelId}`, { backends: [request.backend], variants: [request.variant] });
      const loaded = performance.now();
      const input = inputFor(model, 1);
      await model.run({ [input.name]: createTensor('float32', input.data, input.dims) });
      const done = performance.now();
      return { firstResultMs: done - started, loadMs: loaded - started, firstRunMs: done - loaded, fromCache: model.info.fromCache, timings: { ...model.info.timings } };
    } finally {
      await engine.dispose();
    }
  },

  async memoryLoad(request) {
    memoryHeld = { engine: createEngine(), model: undefined };
    memoryHeld.model = await memoryHeld.engine.load(`${MANIFEST_URL}#${request.modelId}`, { backends: [request.backend], variants: [request.variant] });
    return measureMemory(request.measureTimeoutMs);
  },

  async memoryRun(request) {
    const model = memoryHeld?.model;
    if (!model) throw new Error('memoryLoad first');
    const input = inputFor(model, 1);
    for (let i = 0; i < request.runs; i++) await model.run({ [input.name]: createTensor('float32', input.data, input.dims) });
    return measureMemory(request.measureTimeoutMs);
  },

  async memoryDispose() {
    await memoryHeld?.engine.dispose();
    memoryHeld = undefined;
  },

  async clearModelCache() {
    const databases = await indexedDB.databases();
    const names = databases.map((database) => database.name).filter((name): name is string => Boolean(name));
    await Promise.all(
      names.map(
        (name) =>
          new Promise<void>((resolve, reject) => {
            const deletion = indexedDB.deleteDatabase(name);
            deletion.onsuccess = () => resolve();
            deletion.onerror = () => reject(deletion.error);
            deletion.onblocked = () => reject(new Error(`IndexedDB ${name} is still open (an engine was not disposed).`));
          }),
      ),
    );
    return names;
  },
};

window.bench = bench;
window.benchReady = true;
document.body.dataset.ready = 'true';
