import { toSerializedError, type NamedTensors } from '@edgeinfer/core';
import * as Comlink from 'comlink';
import type { EngineCore } from './engine-core.js';
import type { ActivityMessage, Outcome, WorkerApi } from './protocol.js';

async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: toSerializedError(error) };
  }
}

function outputBuffers(outputs: NamedTensors): ArrayBuffer[] {
  // String tensors are plain arrays (copied, not transferred); a buffer may back two outputs only once.
  return [...new Set(Object.values(outputs).map((tensor) => (ArrayBuffer.isView(tensor.data) ? tensor.data.buffer : undefined)))].filter(
    (buffer): buffer is ArrayBuffer => buffer instanceof ArrayBuffer,
  );
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
    async run(handle, feeds, activity) {
      const result = await tracked(activity, () => outcome(() => core.run(handle, feeds)));
      // Outputs are fresh buffers: transfer them rather than copy.
      return result.ok ? Comlink.transfer(result, outputBuffers(result.value.outputs)) : result;
    },
    dispose: (handle) => outcome(() => core.dispose(handle)),
  };
}

/** Call from the worker entry: serves the engine over comlink. */
export function exposeEngineCore(core: EngineCore, endpoint: Comlink.Endpoint = self as unknown as Comlink.Endpoint): void {
  Comlink.expose(
    createWorkerApi(core, (message) => endpoint.postMessage(message)),
    endpoint,
  );
}
