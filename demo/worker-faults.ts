// Shared by the test harness page and faulty-engine-worker.ts: how a spec describes a worker's fault.
export interface WorkerFault {
  /** Backend ids ('ort-wasm', 'tfjs-wasm'...) whose sessions freeze. */
  readonly freezeRunsOn: readonly string[];
  /** Only runs whose first input starts with this value freeze: a load's check run (zeros) does not. */
  readonly whenFirstValueIs: number;
}

/** The fault travels in the worker's name: readable synchronously before the engine is created. */
export const FAULTY_WORKER_PREFIX = 'edgeinfer-faulty ';
