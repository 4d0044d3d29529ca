import type { Capability, NamedTensors, SerializedError } from '@edgeinfer/core';
import type { LoadProgress } from '@edgeinfer/loader';
import type { LoadRequest, RunResult } from './engine-core.js';
import type { ModelInfo } from './model-info.js';

/**
 * The page <-> worker protocol, as plain types. Every call answers an Outcome instead of throwing:
 * comlink would rebuild a thrown error as a bare Error and lose its code, details and cause.
 */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SerializedError };

export interface WorkerApi {
  ping(): Promise<'pong'>;
  probe(): Promise<Outcome<Record<string, Capability>>>;
  load(loadId: number, request: LoadRequest, onProgress?: (progress: LoadProgress) => void): Promise<Outcome<ModelInfo>>;
  abortLoad(loadId: number): void;
  resolveVersion(request: LoadRequest): Promise<Outcome<{ version: string; reason: string }>>;
  run(handle: number, feeds: NamedTensors): Promise<Outcome<RunResult>>;
  dispose(handle: number): Promise<Outcome<void>>;
}
