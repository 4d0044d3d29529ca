// A test-only engine worker: the real engine and backends, plus a fault the spec chose, read from the
// worker's name at start-up. The fault is a real one (the worker's thread never returns), injected in
// a session's run so it happens exactly where a stuck kernel would: never in a shipped worker.
import { backendId, type Backend, type NamedTensors, type Session } from '@edgeinfer/core';
// eslint-disable-next-line no-restricted-imports -- a test-only worker assembles the engine from its parts, as packages/runtime/src/worker.ts does.
import { createEngineCore, exposeEngineCore } from '@edgeinfer/engine/worker';
import { createLoader } from '@edgeinfer/loader';
import { createDefaultBackends } from '@edgeinfer/runtime';
import { FAULTY_WORKER_PREFIX, type WorkerFault } from './worker-faults.js';

function firstValue(feeds: NamedTensors): unknown {
  const tensor = Object.values(feeds)[0];
  return tensor && ArrayBuffer.isView(tensor.data) ? (tensor.data as Float32Array)[0] : undefined;
}

function freezeForever(): never {
  for (;;) {
    // An infinite loop on the worker's thread: no ping, no message, no timer can run again.
  }
}

function withFault(backend: Backend, fault: WorkerFault | undefined): Backend {
  if (!fault?.freezeRunsOn.includes(backendId(backend))) return backend;
  const faulty = Object.create(backend) as Backend & { load: Backend['load'] };
  faulty.load = async (files, options) => {
    const session = await backend.load(files, options);
    const frozen = Object.create(session) as Session & { run: Session['run'] };
    frozen.run = (feeds) => (firstValue(feeds) === fault.whenFirstValueIs ? freezeForever() : session.run(feeds));
    return frozen;
  };
  return faulty;
}

const name = (globalThis as { name?: string }).name ?? '';
const fault = name.startsWith(FAULTY_WORKER_PREFIX) ? (JSON.parse(name.slice(FAULTY_WORKER_PREFIX.length)) as WorkerFault | null) : null;
const backends = createDefaultBackends().map((backend) => withFault(backend, fault ?? undefined));
exposeEngineCore(createEngineCore({ backends, loader: createLoader() }));
