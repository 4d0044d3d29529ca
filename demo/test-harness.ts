// The public API on window, for browser specs that drive the engine and loader directly.
import * as loader from '@edgeinfer/loader';
import * as runtime from '@edgeinfer/runtime';
import { FAULTY_WORKER_PREFIX, type WorkerFault } from './worker-faults.js';

const workers: Worker[] = [];

/** A worker factory that keeps a handle on each worker, so fault specs can really kill one. */
function createTrackedWorker(): Worker {
  const worker = runtime.createWorker();
  workers.push(worker);
  return worker;
}

/**
 * A worker factory for fault specs: the n-th worker started gets faults[n] (the last entry repeats),
 * and `starts` counts every worker started. See faulty-engine-worker.ts.
 */
function createFaultyWorkers(faults: readonly (WorkerFault | null)[]) {
  const state = {
    starts: 0,
    createWorker(): Worker {
      const fault = faults[Math.min(state.starts, faults.length - 1)] ?? null;
      state.starts++;
      const worker = new Worker(new URL('./faulty-engine-worker.ts', import.meta.url), { type: 'module', name: `${FAULTY_WORKER_PREFIX}${JSON.stringify(fault)}` });
      workers.push(worker);
      return worker;
    },
  };
  return state;
}

declare global {
  interface Window {
    edgeinfer: typeof harness;
  }
}

const harness = { ...runtime, loader, createTrackedWorker, createFaultyWorkers, workers };
window.edgeinfer = harness;
document.body.dataset.ready = 'true';
