import { EdgeInferError, type NamedTensors } from '@edgeinfer/core';
import type * as Comlink from 'comlink';
import { afterEach, describe, expect, it } from 'vitest';
import { serveDirectRun, withDirectRun } from '../src/direct-run.js';
import type { EngineCore, RunResult } from '../src/engine-core.js';
import type { WorkerApi } from '../src/protocol.js';
import { createWorkerApi } from '../src/worker-host.js';

// A real MessageChannel stands in for the page <-> worker pair: both ends are real ports, messages
// are really structured-cloned and transferred.
const channels: MessageChannel[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) {
    channel.port1.close();
    channel.port2.close();
  }
});

function connect(core: Pick<EngineCore, 'run'>) {
  const channel = new MessageChannel();
  channels.push(channel);
  const lastOutputs: Float32Array[] = [];
  const fullCore = {
    run: async (handle: number, feeds: NamedTensors): Promise<RunResult> => {
      const result = await core.run(handle, feeds);
      for (const tensor of Object.values(result.outputs)) lastOutputs.push(tensor.data as Float32Array);
      return result;
    },
  } as unknown as EngineCore;
  const workerEnd = channel.port2 as unknown as Comlink.Endpoint;
  const passedOn: unknown[] = [];
  serveDirectRun(workerEnd, createWorkerApi(fullCore, (message) => workerEnd.postMessage(message)));
  // A listener after it, as comlink's is: it must see every message but the direct runs.
  workerEnd.addEventListener('message', (event) => passedOn.push((event as MessageEvent).data));
  channel.port2.start();
  channel.port1.start();
  const remote = {} as Comlink.Remote<WorkerApi>;
  const api = withDirectRun(remote, channel.port1 as unknown as Worker);
  return { api, lastOutputs, passedOn, pageEnd: channel.port1 };
}

const tensor = (values: number[]) => ({ dtype: 'float32' as const, dims: [values.length], data: Float32Array.from(values) });

describe('direct run path', () => {
  it('answers each run with its own outputs, transferring the output buffers', async () => {
    const { api, lastOutputs } = connect({
      run: async (handle, feeds) => ({ outputs: { y: tensor([handle, (feeds.x!.data as Float32Array)[0]! * 2]) }, backend: 'ort-wasm', variant: 'fp32', fallbacks: [], runMs: 0.1 }),
    });
    const answers = await Promise.all([1, 2, 3].map((handle) => api.run(handle, { x: tensor([handle * 10]) })));
    expect(answers.map((answer) => (answer.ok ? Array.from(answer.value.outputs.y!.data as Float32Array) : answer.error.code))).toEqual([
      [1, 20],
      [2, 40],
      [3, 60],
    ]);
    // Transferred, not copied: the worker's copies are detached.
    expect(lastOutputs.map((output) => output.length)).toEqual([0, 0, 0]);
  });

  it('transfers the inputs when asked, and copies them otherwise', async () => {
    const { api } = connect({ run: async () => ({ outputs: {}, backend: 'ort-wasm', variant: 'fp32', fallbacks: [], runMs: 0 }) });
    const copied = tensor([1, 2, 3]);
    await api.run(1, { x: copied });
    expect(copied.data.length).toBe(3);
    const moved = tensor([1, 2, 3]);
    await api.run(1, { x: moved }, undefined, [moved.data.buffer]);
    expect(moved.data.length).toBe(0);
  });

  it('returns a failed run as an outcome that keeps its error code', async () => {
    const { api } = connect({
      run: async () => {
        throw new EdgeInferError('engine/input-shape', 'Input "x" must have shape [1].', { details: { name: 'x' } });
      },
    });
    const answer = await api.run(1, { x: tensor([1, 2]) });
    expect(answer.ok).toBe(false);
    if (!answer.ok) expect(answer.error.code).toBe('engine/input-shape');
  });

  it('leaves other messages to the listeners after it, and reports activity only when asked', async () => {
    const { api, passedOn, pageEnd } = connect({ run: async () => ({ outputs: {}, backend: 'ort-wasm', variant: 'fp32', fallbacks: [], runMs: 0 }) });
    const fromWorker: unknown[] = [];
    pageEnd.addEventListener('message', (event) => fromWorker.push(event.data));
    pageEnd.postMessage({ id: 'comlink-call', type: 'GET', path: [] });
    await api.run(1, { x: tensor([1]) });
    await api.run(1, { x: tensor([1]) }, 7);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(passedOn).toEqual([{ id: 'comlink-call', type: 'GET', path: [] }]);
    const activity = fromWorker.filter((data) => typeof (data as { edgeinferActivity?: number }).edgeinferActivity === 'number');
    expect(activity).toEqual([
      { edgeinferActivity: 7, phase: 'start' },
      { edgeinferActivity: 7, phase: 'end' },
    ]);
  });
});
