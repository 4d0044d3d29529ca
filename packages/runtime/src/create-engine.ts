import { createRuntimeEngine, type CreateEngineOptions, type RuntimeEngine } from './runtime-engine.js';

/** Starts this entry's worker (onnxruntime-web and TF.js backends). */
export function createWorker(name = 'edgeinfer-engine'): Worker {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name });
}

/** The engine apps use: worker, backend selection, caching and fallback, with no configuration. */
export function createEngine(options: CreateEngineOptions = {}): RuntimeEngine {
  return createRuntimeEngine({ startWorker: createWorker, loadBackends: () => import('./backends.js').then((m) => m.createDefaultBackends) }, options);
}
