import { expect } from 'vitest';
import type { CollectorStorage, GroupStats, StatsQuery } from '../src/index.js';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import { errorEvent, inferenceEvent } from './event-factory.js';

/** Nearest rank, straight from the definition: the smallest value with at least p% of values at or below it. */
export function nearestRank(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.max(1, rank) - 1]!;
}

const MODELS = [
  { id: 'mnist', version: '1.0.0', variant: 'int8' },
  { id: 'mnist', version: '1.1.0-canary', variant: 'int8' },
  { id: 'mnist', version: '1.0.0', variant: 'float32' },
  { id: 'nsfw', version: '2.0.0', variant: 'float16' },
];
const BACKENDS = ['wasm', 'webgpu', 'webgl'];

/** Random events over an hour with many ties and group sizes from 1 up, with a seeded generator. */
export function randomEvents(seed: number, count: number, start: number): TelemetryEvent[] {
  let state = seed;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, () => {
    const ts = start + Math.floor(random() * 3_600_000);
    const model = pick(MODELS);
    const backend = pick(BACKENDS);
    if (random() < 0.05) return errorEvent({ ts, model, backend });
    // Rounded to 0.1 ms so equal durations (ties) are common, as they are in real timings.
    const totalMs = random() < 0.2 ? pick([5, 10, 15]) : Math.round(random() * 2000) / 10;
    return inferenceEvent({ ts, model, backend, totalMs, runMs: totalMs, queueMs: 0 });
  });
}

/** Checks every group and every bucket of storage.stats against a brute-force computation over the same events. */
export async function expectStatsMatchBruteForce(storage: CollectorStorage, app: string, events: readonly TelemetryEvent[], query: StatsQuery): Promise<number> {
  const result = await storage.stats(query);
  const inRange = events.filter((event) => event.ts >= query.from && event.ts < query.to && event.type !== 'heartbeat');
  const keyOf = (event: TelemetryEvent, bucketMs?: number) =>
    JSON.stringify([app, event.model?.id ?? null, event.model?.version ?? null, event.model?.variant ?? null, event.backend ?? null, bucketMs === undefined ? null : Math.floor(event.ts / bucketMs) * bucketMs]);
  const check = (typedRows: readonly GroupStats[], bucketMs?: number) => {
    const rows = typedRows as unknown as readonly (Record<string, unknown> & { count: number })[];
    const expected = new Map<string, TelemetryEvent[]>();
    for (const event of inRange) expected.set(keyOf(event, bucketMs), [...(expected.get(keyOf(event, bucketMs)) ?? []), event]);
    expect(rows.length).toBe(expected.size);
    for (const row of rows) {
      const key = JSON.stringify([row['app'], row['model'], row['version'], row['variant'], row['backend'], bucketMs === undefined ? null : row['bucketStart']]);
      const group = expected.get(key);
      expect(group, `unexpected group ${key}`).toBeDefined();
      const durations = group!.flatMap((event) => (event.type === 'inference' ? [event.totalMs] : []));
      const errors = group!.filter((event) => event.type === 'error').length;
      expect(row.count).toBe(group!.length);
      expect(row['errors']).toBe(errors);
      expect(row['errorRate']).toBeCloseTo(errors / (durations.length + errors), 12);
      for (const p of [50, 95, 99]) expect(row[`p${p}`], `p${p} of ${key} (n=${durations.length})`).toBe(nearestRank(durations, p));
    }
  };
  check(result.groups);
  if (query.bucketMs !== undefined) check(result.buckets, query.bucketMs);
  return result.groups.length + result.buckets.length;
}
