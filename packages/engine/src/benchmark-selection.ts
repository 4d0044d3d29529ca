import { backendId, openYieldingStore, type NamedTensors, type Session } from '@edgeinfer/core';
import { get, set, type UseStore } from 'idb-keyval';
import type { Candidate } from './selection.js';

export interface TrialResult {
  readonly backend: string;
  readonly variant: string;
  readonly p50Ms: number;
}

export interface RememberedWinner {
  readonly backend: string;
  readonly variant: string;
  readonly results: readonly TrialResult[];
  readonly measuredAt: number;
}

let store: UseStore | undefined;
// Yields on versionchange: a worker that benchmarked once must not block the app's deleteDatabase.
const selectionStore = () => (store ??= openYieldingStore('edgeinfer-selection', 'winners'));

/** The device part of the key: what would change which backend is fastest. */
export function deviceKey(adapters: readonly string[]): string {
  const agent = typeof navigator !== 'undefined' ? `${navigator.userAgent}|${navigator.hardwareConcurrency}` : 'unknown';
  return `${agent}|${adapters.join('|')}`;
}

export const readWinner = (key: string) => get<RememberedWinner>(key, selectionStore()).catch(() => undefined);
export const rememberWinner = (key: string, winner: RememberedWinner) => set(key, winner, selectionStore()).catch(() => undefined);

/** One candidate per backend (its preferred variant): a trial compares backends, not variants. */
export function trialCandidates(ranked: readonly Candidate[], limit = 4): Candidate[] {
  const seen = new Set<string>();
  return ranked.filter((candidate) => {
    const id = backendId(candidate.backend);
    if (seen.has(id) || seen.size >= limit) return false;
    seen.add(id);
    return true;
  });
}

/** Median latency of a few warm runs: enough to tell a 3 ms backend from a 300 ms one. */
export async function timeSession(session: Session, feeds: NamedTensors, runs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await session.run(feeds);
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

export function describeTrial(results: readonly TrialResult[], remembered: boolean): string {
  const sorted = [...results].sort((a, b) => a.p50Ms - b.p50Ms);
  const table = sorted.map((result) => `${result.backend}/${result.variant} ${result.p50Ms.toFixed(1)} ms`).join(', ');
  return `${remembered ? 'benchmark winner remembered for this device' : 'benchmark trial'}: p50 ${table}`;
}
