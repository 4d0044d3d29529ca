import * as Comlink from 'comlink';
import type { EngineCore } from './engine-core.js';
import type { WorkerApi } from './protocol.js';
import { createWorkerApi } from './worker-host.js';

/** Thrown to pending calls when the worker died or hung; the client reloads and retries once. */
export class WorkerLost extends Error {}

export interface ConnectionOptions {
  readonly createWorker?: () => Worker;
  readonly core?: EngineCore;
  readonly hangTimeoutMs?: number;
}

/** A worker (or in-page core) connection that can be replaced when the worker dies or hangs. */
export function createConnection(options: ConnectionOptions) {
  let worker: Worker | undefined;
  let api: WorkerApi | Comlink.Remote<WorkerApi>;
  let lost: { promise: Promise<never>; reject: (error: Error) => void };
  let pending = 0;
  let monitor: ReturnType<typeof setInterval> | undefined;
  let generation = 0;
  const hangTimeoutMs = options.hangTimeoutMs ?? 15_000;

  function start(): void {
    generation++;
    let reject!: (error: Error) => void;
    const promise = new Promise<never>((_, rejectLost) => (reject = rejectLost));
    promise.catch(() => undefined);
    lost = { promise, reject };
    if (options.createWorker) {
      worker = options.createWorker();
      worker.addEventListener('error', () => declareLost('the worker crashed'));
      api = Comlink.wrap<WorkerApi>(worker);
    } else {
      api = createWorkerApi(options.core!);
    }
  }

  function declareLost(reason: string): void {
    const current = lost;
    worker?.terminate();
    worker = undefined;
    current.reject(new WorkerLost(reason));
    start();
    onRestart(reason);
  }

  let onRestart: (reason: string) => void = () => undefined;

  /** While calls are pending, a worker that misses a ping is declared lost (terminate() fires no event). */
  function watch(): void {
    if (monitor || !options.createWorker) return;
    monitor = setInterval(() => {
      if (pending === 0) return;
      const watched = generation;
      const timer = setTimeout(() => watched === generation && declareLost(`the worker did not answer for ${hangTimeoutMs} ms`), hangTimeoutMs);
      void (api as WorkerApi).ping().then(
        () => clearTimeout(timer),
        () => undefined,
      );
    }, Math.min(1000, hangTimeoutMs));
  }

  start();
  return {
    get generation() {
      return generation;
    },
    set onRestart(handler: (reason: string) => void) {
      onRestart = handler;
    },
    /** Calls the worker; rejects with WorkerLost if it dies meanwhile. */
    async call<T>(work: (api: WorkerApi) => Promise<T>): Promise<T> {
      pending++;
      watch();
      try {
        return await Promise.race([work(api as WorkerApi), lost.promise]);
      } finally {
        pending--;
      }
    },
    close(): void {
      if (monitor) clearInterval(monitor);
      worker?.terminate();
      if (options.core) void options.core.disposeAll();
    },
  };
}

