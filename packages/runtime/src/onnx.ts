/**
 * `@edgeinfer/runtime/onnx`: the same API as `@edgeinfer/runtime`, with onnxruntime-web only (install
 * `@edgeinfer/backend-ort`). TensorFlow.js is neither installed nor bundled.
 */
import { createRuntimeEngine, type CreateEngineOptions, type RuntimeEngine } from './runtime-engine.js';

export function createWorker(name = 'edgeinfer-engine'): Worker {
  return new Worker(new URL('./worker-onnx.js', import.meta.url), { type: 'module', name });
}

export function createEngine(options: CreateEngineOptions = {}): RuntimeEngine {
  return createRuntimeEngine({ startWorker: createWorker, loadBackends: () => import('@edgeinfer/backend-ort').then((m) => m.createOrtBackends) }, options);
}

export * from './shared-exports.js';
