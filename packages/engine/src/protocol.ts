import type { Capability, NamedTensors, SerializedError } from '@edgeinfer/core';
import type { LoadProgress } from '@edgeinfer/loader';
import type { LoadRequest, RunResult } from './engine-core.js';
import type { ModelInfo } from './model-info.js';

/**
 * The page <-> worker protocol, as plain types. Every call answers an Outcome instead of throwing:
 * comlink would rebuild a thrown error as a bare Error and lose its code, details and cause.
 */
export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: SerializedError };

/**
 * `activity` on load and run: the worker posts an ActivityMessage with it when it starts and ends
 * that call. A run blocks the worker's event loop, so it cannot answer pings meanwhile; the page's
 * watchdog uses these to tell a worker busy with a run it started from one that is hung.
 */
export interface WorkerApi {
  ping(): Promise<'pong'>;
  probe(): Promise<Outcome<Record<string, Capability>>>;
  load(loadId: number, request: LoadRequest, onProgress?: (progress: LoadProgress) => void, activity?: number): Promise<Outcome<ModelInfo>>;
  abortLoad(loadId: number): void;
  resolveVersion(request: LoadRequest): Promise<Outcome<{ version: string; reason: string }>>;
  /** `transfer`: input buffers to move to the worker instead of copying (the direct run path, direct-run.ts). */
  run(handle: number, feeds: NamedTensors, activity?: number, transfer?: readonly Transferable[]): Promise<Outcome<RunResult>>;
  dispose(handle: number): Promise<Outcome<void>>;
}

/** Posted by the worker beside comlink's messages (which carry an `id`; this never does). */
export interface ActivityMessage {
  readonly edgeinferActivity: number;
  readonly phase: 'start' | 'end';
}

export function isActivityMessage(data: unknown): data is ActivityMessage {
  return typeof data === 'object' && data !== null && typeof (data as ActivityMessage).edgeinferActivity === 'number';
}
