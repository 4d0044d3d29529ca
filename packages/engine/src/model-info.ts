import type { ManifestModel, Preprocessing, TensorSpec } from '@edgeinfer/core';

export interface FallbackRecord {
  readonly backend: string;
  readonly variant: string;
  readonly code: string;
  readonly message: string;
  readonly at: 'load' | 'run';
}

export interface ModelTimings {
  readonly manifestMs: number;
  readonly downloadMs: number;
  readonly verifyMs: number;
  readonly cacheMs: number;
  readonly compileMs: number;
  readonly warmupMs: number;
  readonly totalMs: number;
}

/** What the app can read about a loaded model: where it runs, why, and how it got there. */
export interface ModelInfo {
  readonly handle: number;
  readonly id: string;
  readonly version: string;
  readonly channel: string;
  readonly versionReason: string;
  readonly variant: string;
  readonly dtype: string;
  readonly backend: string;
  readonly selectionReason: string;
  readonly candidates: readonly { backend: string; variant: string; reason: string }[];
  readonly rejected: readonly { backend: string; reason: string }[];
  readonly fallbacks: readonly FallbackRecord[];
  readonly fromCache: boolean;
  readonly manifestSource: 'network' | 'cache';
  readonly sizeBytes: number;
  readonly timings: ModelTimings;
  readonly task: ManifestModel['task'];
  readonly labels: readonly string[];
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly preprocessing?: Preprocessing;
}
