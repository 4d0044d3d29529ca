import { toSerializedError, type NamedTensors } from '@edgeinfer/core';
import * as Comlink from 'comlink';
import type { EngineCore } from './engine-core.js';
import type { Outcome, WorkerApi } from './protocol.js';

async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: toSerializedError(error) };
  }
}

function outputBuffers(outputs: NamedTensors): ArrayBuffer[] {
  return Object.values(outputs)
    .map((tensor) => tensor.data.buffer)
    .filter((buffer): buffer is ArrayBuffer => buffer instanceof ArrayBuffer);
}

/** Adapts an EngineCore to the worker protocol. */
export function createWorkerApi(core: EngineCore): WorkerApi {
  const loads = new Map<number, AbortController>();
  return {
    ping: async () => 'pong',
    probe: () => outcome(() => core.probe()),
    async load(loadId, request, onProgress) {
      const controller = new AbortController();
      loads.set(loadId, controller);
      try {
        return await outcome(() => core.load(request, onProgress, controller.signal));
      } finally {
        loads.delete(loadId);
      }
    },
    abortLoad: (loadId) => loads.get(loadId)?.abort(),
    resolveVersion: (request) => outcome(() => core.resolveVersion(request)),
    async run(handle, feeds) {
      const result = await outcome(() => core.run(handle, feeds));
      // Outputs are fresh buffers: transfer them rather than copy.
      return result.ok ? Comlink.transfer(result, outputBuffers(result.value.outputs)) : result;
    },
    dispose: (handle) => outcome(() => core.dispose(handle)),
  };
}

/** Call from the worker entry: serves the engine over comlink. */
export function exposeEngineCore(core: EngineCore, endpoint: Comlink.Endpoint = self as unknown as Comlink.Endpoint): void {
  Comlink.expose(createWorkerApi(core), endpoint);
}
