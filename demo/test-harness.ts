// The public API on window, for browser specs that drive the engine and loader directly.
import * as loader from '@edgeinfer/loader';
import * as runtime from '@edgeinfer/runtime';

const workers: Worker[] = [];

/** A worker factory that keeps a handle on each worker, so fault specs can really kill one. */
function createTrackedWorker(): Worker {
  const worker = runtime.createWorker();
  workers.push(worker);
  return worker;
}

declare global {
  interface Window {
    edgeinfer: typeof harness;
  }
}

const harness = { ...runtime, loader, createTrackedWorker, workers };
window.edgeinfer = harness;
document.body.dataset.ready = 'true';
