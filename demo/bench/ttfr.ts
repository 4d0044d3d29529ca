// Time to first result, as a user meets it: from the first line of app code (createEngine(), or the
// library's import) to the first answer. Each subject keeps its state for the page's lifetime, so a
// second call on the same page is "a second model in a running page". The runner (e2e/bench/run.ts)
// opens each subject in its own browser profile, so no subject finds another's files in the HTTP cache.
import { createEngine, createTensor, type RuntimeEngine } from '@edgeinfer/runtime';
import type * as Ort from 'onnxruntime-web';
import type * as Transformers from '@huggingface/transformers';
// Transformers.js carries its own onnxruntime-web and imports its webgpu entry (the asyncify build);
// without local paths it would fetch them from a CDN.
import hfOrtMjsUrl from '../../node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.mjs?url';
import hfOrtWasmUrl from '../../node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.asyncify.wasm?url';
import type { TtfrRequest, TtfrResult } from './bench-api.js';

const MANIFEST_URL = new URL('/models/manifest.json', location.href).href;

function seededInput(count: number): Float32Array {
  const data = new Float32Array(count);
  let state = 1;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = state / 2 ** 31 - 1;
  }
  return data;
}

let engine: RuntimeEngine | undefined;
let ort: Promise<typeof Ort> | undefined;
let transformers: Promise<typeof Transformers> | undefined;
/** The last subject's model, to run again while the page stays open (a user trying more inputs). */
let again: (() => Promise<void>) | undefined;

/** The engine as an app uses it: createEngine() (once per page), load, run. */
async function engineFirstResult(request: TtfrRequest): Promise<TtfrResult> {
  const started = performance.now();
  engine ??= createEngine(request.warm ? { warm: request.warm } : {});
  const model = await engine.load(`${MANIFEST_URL}#${request.modelId}`, { variants: [request.variant], ...(request.backend ? { backends: [request.backend] } : {}) });
  const loaded = performance.now();
  const spec = model.info.inputs[0]!;
  const dims = spec.shape.map((dim) => (typeof dim === 'number' ? dim : 1));
  const input = seededInput(dims.reduce((a, b) => a * b, 1));
  await model.run({ [spec.name]: createTensor('float32', input, dims) });
  const done = performance.now();
  again = async () => void (await model.run({ [spec.name]: createTensor('float32', input.slice(), dims) }));
  return { firstResultMs: done - started, loadMs: loaded - started, backend: model.info.backend, fromCache: model.info.fromCache, timings: { ...model.info.timings } };
}

/** onnxruntime-web's shortest path: its wasm-only build, create a session from the model URL, run. */
async function rawOrtFirstResult(request: TtfrRequest): Promise<TtfrResult> {
  const started = performance.now();
  ort ??= import('onnxruntime-web/wasm').then((module) => {
    module.env.wasm.numThreads = request.threads;
    module.env.logLevel = 'error';
    return module;
  });
  const library = await ort;
  const imported = performance.now();
  const session = await library.InferenceSession.create(request.modelUrl, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const loaded = performance.now();
  const dims = request.inputShape;
  const feeds = { [request.inputName]: new library.Tensor('float32', seededInput(dims.reduce((a, b) => a * b, 1)), [...dims]) };
  const outputs = await session.run(feeds);
  for (const output of Object.values(outputs)) await output.getData();
  const done = performance.now();
  again = async () => {
    for (const output of Object.values(await session.run(feeds))) await output.getData();
  };
  return { firstResultMs: done - started, loadMs: loaded - started, backend: 'wasm', fromCache: false, timings: { importMs: imported - started, createMs: loaded - imported, firstRunMs: done - loaded } };
}

/** Transformers.js's pipeline with its defaults (its browser cache on), on the same ONNX file. */
async function transformersFirstResult(request: TtfrRequest): Promise<TtfrResult> {
  const started = performance.now();
  transformers ??= import('@huggingface/transformers').then((module) => {
    module.env.allowRemoteModels = false;
    module.env.allowLocalModels = true;
    module.env.localModelPath = request.localModelPath;
    // The bench's server answers a missing file with its SPA page (200, text/html); a static host
    // answers 404, which Transformers.js expects for its optional files (processor_config.json...).
    module.env.fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
      const response = await fetch(input, init);
      const html = response.headers.get('content-type')?.includes('text/html');
      return html && String(input).endsWith('.json') ? new Response('not found', { status: 404, statusText: 'Not Found' }) : response;
    };
    const wasm = module.env.backends.onnx.wasm as { wasmPaths?: unknown; numThreads?: number };
    wasm.wasmPaths = { mjs: hfOrtMjsUrl, wasm: hfOrtWasmUrl };
    wasm.numThreads = request.threads;
    return module;
  });
  const { pipeline, RawImage } = await transformers;
  const classifier = await pipeline('image-classification', request.modelId, { device: 'wasm', dtype: 'fp32' });
  const loaded = performance.now();
  const image = await RawImage.fromURL(request.imageUrl);
  const input = request.channels === 1 ? image.grayscale() : image;
  await classifier(input);
  const done = performance.now();
  again = async () => void (await classifier(input));
  return { firstResultMs: done - started, loadMs: loaded - started, backend: 'wasm', fromCache: false, timings: {} };
}

/**
 * The page stays open after its first answer, as a user's does: the last model runs `runs` more times,
 * `gapMs` apart. Chromium writes its compiled-wasm cache only once V8 has optimised enough of the
 * module, after a delay: a page closed right after the first answer may never get one.
 */
export async function dwell(request: { readonly runs: number; readonly gapMs: number }): Promise<{ readonly runs: number; readonly ms: number }> {
  const started = performance.now();
  let runs = 0;
  for (; again && runs < request.runs; runs++) {
    await again();
    await new Promise((resolve) => setTimeout(resolve, request.gapMs));
  }
  return { runs, ms: performance.now() - started };
}

export function timeToFirstResult(request: TtfrRequest): Promise<TtfrResult> {
  if (request.subject === 'engine') return engineFirstResult(request);
  if (request.subject === 'raw-ort') return rawOrtFirstResult(request);
  return transformersFirstResult(request);
}
