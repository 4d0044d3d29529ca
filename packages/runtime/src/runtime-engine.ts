import type { Backend } from '@edgeinfer/core';
import { createEngineClient, type ClientEvent, type Engine, type EngineCore } from '@edgeinfer/engine/client';
import type { Telemetry, TelemetryOptions } from '@edgeinfer/telemetry';
import { createDeferredTelemetry } from './deferred-telemetry.js';
import { workerName } from './worker-config.js';

export interface CreateEngineOptions {
  /** Run in a dedicated Web Worker (default) or in the page (`false`: tests, hosts without module workers). */
  readonly worker?: boolean;
  /**
   * The engine worker's URL, for esbuild and pages with no bundler (copy it with `npx edgeinfer-assets
   * <folder>`). Vite, webpack 5 and Rollup find the worker by themselves: leave this unset.
   */
  readonly workerUrl?: string | URL;
  /**
   * Where the backends' .wasm files are served from (a URL prefix ending in `/`). Default: beside the
   * backend code, as the bundler emitted them. `npx edgeinfer-assets` copies them next to the worker.
   */
  readonly assetsBaseUrl?: string;
  /** Replace how the worker is started (e.g. to host it elsewhere, or to kill it in a fault test). */
  readonly createWorker?: () => Worker;
  /**
   * Backend ids to import and instantiate as soon as the engine starts, before any load (e.g.
   * `['ort-wasm']` for a kiosk that will load an ONNX model on wasm): the first load then finds the
   * library compiled. Without it the engine still starts the likely backend while the model downloads.
   */
  readonly warm?: readonly string[];
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

/** What differs between the entries (`@edgeinfer/runtime`, `/onnx`, `/tfjs`): their worker and backends. */
export interface RuntimeFlavour {
  /** Starts the entry's bundled worker; the `new Worker(new URL(literal, import.meta.url))` form bundlers recognise. */
  readonly startWorker: (name: string) => Worker;
  /** For `worker: false`: imported only then, so the page's bundle carries no backend code otherwise. */
  readonly loadBackends: () => Promise<(options: { assetsBaseUrl?: string }) => Backend[]>;
}

/** The in-page engine core (worker: false), imported on first use to keep the page entry small. */
function createLazyCore(flavour: RuntimeFlavour, assetsBaseUrl: string | undefined, warm: readonly string[] | undefined): EngineCore {
  let core: EngineCore | undefined;
  const ready = Promise.all([import('./in-page-core.js'), flavour.loadBackends(), import('./warm-backends.js')]).then(([{ createInPageCore }, createBackends, { warmBackends }]) => {
    const backends = createBackends(assetsBaseUrl ? { assetsBaseUrl } : {});
    core = createInPageCore(backends);
    warmBackends(backends, warm);
    return core;
  });
  return {
    probe: () => ready.then((c) => c.probe()),
    load: (...args) => ready.then((c) => c.load(...args)),
    resolveVersion: (request) => ready.then((c) => c.resolveVersion(request)),
    run: (handle, feeds) => ready.then((c) => c.run(handle, feeds)),
    // Only asked for handles a load returned, so the core exists by then.
    info: (handle) => core!.info(handle),
    dispose: (handle) => ready.then((c) => c.dispose(handle)),
    disposeAll: () => ready.then((c) => c.disposeAll()),
  };
}

function workerStarter(flavour: RuntimeFlavour, options: CreateEngineOptions): () => Worker {
  if (options.createWorker) return options.createWorker;
  const name = workerName({ assetsBaseUrl: options.assetsBaseUrl, warm: options.warm });
  if (options.workerUrl) return () => new Worker(options.workerUrl!, { type: 'module', name });
  return () => flavour.startWorker(name);
}

export function createRuntimeEngine(flavour: RuntimeFlavour, options: CreateEngineOptions = {}): RuntimeEngine {
  const deferred = options.telemetry ? createDeferredTelemetry(options.telemetry) : undefined;
  const telemetry = deferred?.telemetry;
  const onEvent = (event: ClientEvent) => {
    // record() is synchronous and does no I/O: reporting costs the inference path no await.
    deferred?.recordEngineEvent(event);
    options.onEvent?.(event);
  };
  const common = { onEvent, ...(options.hangTimeoutMs ? { hangTimeoutMs: options.hangTimeoutMs } : {}) };
  const engine =
    options.worker === false
      ? createEngineClient({ ...common, core: createLazyCore(flavour, options.assetsBaseUrl, options.warm) })
      : createEngineClient({ ...common, createWorker: workerStarter(flavour, options), ...(options.workerUrl ? { workerUrl: options.workerUrl } : {}) });
  if (!telemetry) return engine;
  return Object.assign(Object.create(engine) as Engine, {
    telemetry,
    async dispose() {
      await engine.dispose();
      await telemetry.close();
    },
  });
}
