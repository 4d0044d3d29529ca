import { createEngineClient, createEngineCore, type ClientEvent, type Engine } from '@edgeinfer/engine';
import { createLoader } from '@edgeinfer/loader';
import { createTelemetry, engineEventToTelemetry, type Telemetry, type TelemetryOptions } from '@edgeinfer/telemetry';
import { createDefaultBackends } from './backends.js';

export interface CreateEngineOptions {
  /** Run in a dedicated Web Worker (default) or in the page (`false`: tests, hosts without module workers). */
  readonly worker?: boolean;
  /** Replace how the worker is started (e.g. to host it elsewhere, or to kill it in a fault test). */
  readonly createWorker?: () => Worker;
  /** A worker that misses pings this long while work is pending is replaced and its models reloaded. */
  readonly hangTimeoutMs?: number;
  readonly onEvent?: (event: ClientEvent) => void;
  /** Report load, inference, fallback and error events to a collector (`npx edgeinfer-collector`). */
  readonly telemetry?: TelemetryOptions;
}

export interface RuntimeEngine extends Engine {
  /** The telemetry client when `telemetry` was given: apps and kiosks record heartbeats with it. */
  readonly telemetry?: Telemetry;
}

export function createWorker(): Worker {
  return new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'edgeinfer-engine' });
}

/** The engine apps use: worker, backend selection, caching and fallback, with no configuration. */
export function createEngine(options: CreateEngineOptions = {}): RuntimeEngine {
  const telemetry = options.telemetry ? createTelemetry(options.telemetry) : undefined;
  const onEvent = (event: ClientEvent) => {
    // record() is synchronous and does no I/O: reporting costs the inference path no await.
    const telemetryEvent = telemetry ? engineEventToTelemetry(event) : null;
    if (telemetryEvent) telemetry!.record(telemetryEvent);
    options.onEvent?.(event);
  };
  const common = { onEvent, ...(options.hangTimeoutMs ? { hangTimeoutMs: options.hangTimeoutMs } : {}) };
  const engine =
    options.worker === false
      ? createEngineClient({ ...common, core: createEngineCore({ backends: createDefaultBackends(), loader: createLoader() }) })
      : createEngineClient({ ...common, createWorker: options.createWorker ?? createWorker });
  if (!telemetry) return engine;
  return Object.assign(Object.create(engine) as Engine, {
    telemetry,
    async dispose() {
      await engine.dispose();
      await telemetry.close();
    },
  });
}
