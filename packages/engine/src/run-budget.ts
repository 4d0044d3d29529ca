import type { NamedTensors, TensorSpec } from '@edgeinfer/core';

/**
 * How long the worker may stay silent while it runs one request before the watchdog calls it hung.
 * A run blocks the worker's event loop, so silence alone proves nothing: the allowance comes from
 * this model's own measured run times, scaled to the request's size.
 */
/** Before any measured run, the load's check run (batch 1, zeros, often cold caches) times this factor. */
export const FIRST_RUN_FACTOR = 10;
/** After measured runs, the slowest one (per input element) times this factor. */
export const RUN_FACTOR = 4;
/** A load compiles the model and runs its check run, blocking like a run but with nothing measured yet. */
export const LOAD_ALLOWANCE_MS = 120_000;
/** Fetching and evaluating the worker's module graph (seconds on a dev server on a slow device). */
export const START_ALLOWANCE_MS = 60_000;

export function elementCount(feeds: NamedTensors): number {
  return Object.values(feeds).reduce((sum, tensor) => sum + tensor.data.length, 0);
}

/** Elements of the check run's feeds: the declared shapes with dynamic dims set to 1 (as warmup.ts builds them). */
export function checkRunElementCount(inputs: readonly TensorSpec[]): number {
  return inputs.reduce((sum, spec) => sum + spec.shape.reduce<number>((product, dim) => product * (typeof dim === 'number' ? dim : 1), 1), 0);
}

export interface RunAllowanceInput {
  readonly elements: number;
  readonly hangTimeoutMs: number;
  /** The caller's deadline: a run it is willing to wait for is never called hung sooner. */
  readonly timeoutMs?: number | undefined;
  readonly checkRunMs: number;
  readonly checkRunElements: number;
}

/** The measured run times of one model on its current backend. */
export function createRunTimes() {
  let slowestMsPerElement: number | undefined;
  return {
    record(runMs: number, elements: number): void {
      const perElement = runMs / Math.max(1, elements);
      if (slowestMsPerElement === undefined || perElement > slowestMsPerElement) slowestMsPerElement = perElement;
    },
    /** The backend changed: its runs tell nothing about the new one. */
    reset(): void {
      slowestMsPerElement = undefined;
    },
    allowanceMs(input: RunAllowanceInput): number {
      const expected =
        slowestMsPerElement === undefined
          ? FIRST_RUN_FACTOR * input.checkRunMs * Math.max(1, input.elements / Math.max(1, input.checkRunElements))
          : RUN_FACTOR * slowestMsPerElement * input.elements;
      return Math.max(input.hangTimeoutMs, expected, input.timeoutMs ?? 0);
    },
  };
}
