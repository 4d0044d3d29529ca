/**
 * `@edgeinfer/runtime/tfjs`: the same API as `@edgeinfer/runtime`, with TensorFlow.js only (install
 * `@edgeinfer/backend-tfjs`). onnxruntime-web is neither installed nor bundled.
 */
import { createRuntimeEngine, type CreateEngineOptions, type RuntimeEngine } from './runtime-engine.js';

export function createWorker(name = 'edgeinfer-engine'): Worker {
  return new Worker(new URL('./worker-tfjs.js', import.meta.url), { type: 'module', name });
}

export function createEngine(options: CreateEngineOptions = {}): RuntimeEngine {
  return createRuntimeEngine({ startWorker: createWorker, loadBackends: () => import('@edgeinfer/backend-tfjs').then((m) => m.createTfjsBackends) }, options);
}

export * from './shared-exports.js';
