import type { NamedTensors } from '@edgeinfer/core';
import type * as Comlink from 'comlink';
import type { RunResult } from './engine-core.js';
import type { Outcome, WorkerApi } from './protocol.js';

/**
 * run() is the one call made thousands of times: it goes page -> worker as one plain message and
 * back as one, beside comlink (which keeps every other call). Measured on Fashion-MNIST batch 1 (a
 * 0.1-0.2 ms model), comlink's proxy, wire-value conversion and reply bookkeeping were a visible
 * share of each run. Both messages carry no comlink `id`, so comlink on either side ignores them.
 */
interface DirectRunRequest {
  readonly edgeinferRun: number;
  readonly handle: number;
  readonly feeds: NamedTensors;
  readonly activity?: number;
}

interface DirectRunReply {
  readonly edgeinferRunReply: number;
  readonly outcome: Outcome<RunResult>;
}

/** Buffers of fresh output tensors: transferred, not copied. A buffer may back two outputs only once. */
export function outputBuffers(outputs: NamedTensors): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const tensor of Object.values(outputs)) {
    // String tensors are plain arrays (copied); a view over a SharedArrayBuffer cannot be transferred.
    if (ArrayBuffer.isView(tensor.data) && tensor.data.buffer instanceof ArrayBuffer) buffers.add(tensor.data.buffer);
  }
  return [...buffers];
}

/** Page side: the comlink remote for every call but run(), which posts straight to the worker. */
export function withDirectRun(remote: Comlink.Remote<WorkerApi>, worker: Worker): WorkerApi {
  const api = remote as unknown as WorkerApi;
  const pending = new Map<number, (outcome: Outcome<RunResult>) => void>();
  let nextId = 1;
  worker.addEventListener('message', (event: MessageEvent) => {
    const reply = event.data as DirectRunReply | null;
    if (typeof reply?.edgeinferRunReply !== 'number') return;
    const resolve = pending.get(reply.edgeinferRunReply);
    pending.delete(reply.edgeinferRunReply);
    resolve?.(reply.outcome);
  });
  return {
    ping: () => api.ping(),
    probe: () => api.probe(),
    load: (...args) => api.load(...args),
    abortLoad: (loadId) => api.abortLoad(loadId),
    resolveVersion: (request) => api.resolveVersion(request),
    dispose: (handle) => api.dispose(handle),
    run(handle, feeds, activity, transfer = []) {
      return new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        const request: DirectRunRequest = activity === undefined ? { edgeinferRun: id, handle, feeds } : { edgeinferRun: id, handle, feeds, activity };
        worker.postMessage(request, transfer as Transferable[]);
      });
    },
  };
}

/** Worker side: answers direct runs; registered before comlink's listener, so comlink never sees them. */
export function serveDirectRun(endpoint: Comlink.Endpoint, api: WorkerApi): void {
  endpoint.addEventListener('message', (event) => {
    const request = (event as MessageEvent).data as DirectRunRequest | null;
    if (typeof request?.edgeinferRun !== 'number') return;
    event.stopImmediatePropagation();
    void api.run(request.handle, request.feeds, request.activity).then((outcome) => {
      const reply: DirectRunReply = { edgeinferRunReply: request.edgeinferRun, outcome };
      endpoint.postMessage(reply, outcome.ok ? outputBuffers(outcome.value.outputs) : []);
    });
  });
}
