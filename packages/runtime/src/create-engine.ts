import { createEngineClient, createEngineCore, type ClientEvent, type Engine } from '@edgeinfer/engine';
import { createLoader } from '@edgeinfer/loader';
import { createDefaultBackends } from './backends.js';

export interface CreateEngineOptions {
  /** Run in a dedicated Web Worker (default) or in the page (`false`: tests, hosts without module workers). */
  readonly worker?: boolean;
  /** Replace how the worker is started (e.g. to host it elsewhere, or to kill it in a fault test). */
  readonly createWorker?: () => Worker;
  /** A worker that misses pings this long while work is pending is replaced and its models reloaded. */
  readonly hangTimeoutMs?: number;
  readonly onEvent?: (event: ClientEvent) => void;
}

export function createWorker(): Worker {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'edgeinfer-engine' });
}

/** The engine apps use: worker, backend selection, caching and fallback, with no configuration. */
export function createEngine(options: CreateEngineOptions = {}): Engine {
  const common = { ...(options.hangTimeoutMs ? { hangTimeoutMs: options.hangTimeoutMs } : {}), ...(options.onEvent ? { onEvent: options.onEvent } : {}) };
  if (options.worker === false) {
    return createEngineClient({ ...common, core: createEngineCore({ backends: createDefaultBackends(), loader: createLoader() }) });
  }
  return createEngineClient({ ...common, createWorker: options.createWorker ?? createWorker });
}
