import { toSerializedError } from '@edgeinfer/core';
import * as Comlink from 'comlink';
import { serveDirectRun } from './direct-run.js';
import type { EngineCore } from './engine-core.js';
import type { ActivityMessage, Outcome, WorkerApi } from './protocol.js';

async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: toSerializedError(error) };
  }
}

/** Adapts an EngineCore to the worker protocol; `report` carries the start/end of loads and runs to the page. */
export function createWorkerApi(core: EngineCore, report: (message: ActivityMessage) => void = () => undefined): WorkerApi {
  const loads = new Map<number, AbortController>();
  async function tracked<T>(activity: number | undefined, work: () => Promise<T>): Promise<T> {
    if (activity === undefined) return work();
    report({ edgeinferActivity: activity, phase: 'start' });
    try {
      return await work();
    } finally {
      report({ edgeinferActivity: activity, phase: 'end' });
    }
  }
  return {
    ping: async () => 'pong',
    probe: () => outcome(() => core.probe()),
    async load(loadId, request, onProgress, activity) {
      const controller = new AbortController();
      loads.set(loadId, controller);
      try {
        return await tracked(activity, () => outcome(() => core.load(request, onProgress, controller.signal)));
      } finally {
        loads.delete(loadId);
      }
    },
    abortLoad: (loadId) => loads.get(loadId)?.abort(),
    resolveVersion: (request) => outcome(() => core.resolveVersion(request)),
    // Served by serveDirectRun (direct-run.ts), which transfers the output buffers.
    run: (handle, feeds, activity) => tracked(activity, () => outcome(() => core.run(handle, feeds))),
    dispose: (handle) => outcome(() => core.dispose(handle)),
  };
}

/** Call from the worker entry: serves the engine over comlink. */
export function exposeEngineCore(core: EngineCore, endpoint: Comlink.Endpoint = self as unknown as Comlink.Endpoint): void {
  const api = createWorkerApi(core, (message) => endpoint.postMessage(message));
  // Before comlink's listener: direct runs stop there.
  serveDirectRun(endpoint, api);
  Comlink.expose(api, endpoint);
}
