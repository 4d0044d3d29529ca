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

const MINUTE_MS = 60_000;

/**
 * Stats must equal brute force at every stage of the roll-up: nothing folded, a few small steps,
 * caught up, late events and client retries landing in folded minutes, compaction, and retention
 * cutting through the range. `sqlCount` runs a COUNT query on the storage's database.
 */
export async function expectExactThroughRollups(storage: CollectorStorage, app: string, start: number, sqlCount: (sql: string) => Promise<number>): Promise<void> {
  const insert = async (events: readonly TelemetryEvent[]) => {
    for (let index = 0; index < events.length; index += 500) await storage.insertBatch(app, events.slice(index, index + 500), Date.now());
  };
  const queries: StatsQuery[] = [
    { from: start, to: start + 3_600_000, app, bucketMs: 300_000 },
    // Partial minutes at both ends, and buckets that are not whole minutes (read raw).
    { from: start + 12_345, to: start + 2_000_017, app, bucketMs: 45_000 },
    { from: start + 61_000, to: start + 3_000_000, app, backend: 'webgpu', bucketMs: 60_000 },
    // Shorter than two minutes: no whole minute fits.
    { from: start + 30_000, to: start + 90_000, app },
  ];
  const check = async (events: readonly TelemetryEvent[], stage: string) => {
    let rows = 0;
    for (const query of queries) {
      const expected = events.filter((event) => query.backend === undefined || event.backend === query.backend);
      rows += await expectStatsMatchBruteForce(storage, app, expected, query).catch((error: Error) => {
        throw new Error(`${stage}: ${error.message}`);
      });
    }
    expect(rows, stage).toBeGreaterThan(100);
  };
  const stepUntilIdle = async (options: { maxEvents?: number; now: number }) => {
    for (let steps = 0; steps < 1000; steps += 1) if ((await storage.rollUp(options)).idle) return;
    throw new Error('the roll-up never became idle');
  };

  const events = randomEvents(11, 4000, start);
  await insert(events);
  await check(events, 'nothing rolled up');
  // 300 is less than one batch (500 events, one seq): a step still folds the whole batch.
  for (let step = 0; step < 3; step += 1) expect((await storage.rollUp({ maxEvents: 300, now: start })).events).toBeGreaterThan(0);
  await check(events, 'partly rolled up');
  await stepUntilIdle({ maxEvents: 1000, now: start });
  await check(events, 'caught up, not compacted');

  const late = randomEvents(12, 500, start);
  await insert(late.slice(0, 300));
  await insert(late.slice(200)); // 100 of these are a client's retry: stored once
  const all = [...events, ...late];
  await check(all, 'late events not yet rolled up');
  await stepUntilIdle({ now: start });
  await check(all, 'late events rolled up as new segments');

  await stepUntilIdle({ now: start + 10 * 3_600_000 });
  await check(all, 'compacted');
  const appFilter = `app = '${app}'`;
  expect(await sqlCount(`SELECT COUNT(*) AS n FROM (SELECT minute FROM rollup_minutes WHERE ${appFilter} GROUP BY minute, type, group_key HAVING COUNT(*) > 1) split`)).toBe(0);
  expect(await sqlCount(`SELECT SUM(event_count) AS n FROM rollup_minutes WHERE ${appFilter}`)).toBe(all.length);

  const cutoff = start + 1_234_567;
  expect(await storage.deleteOlderThan(cutoff)).toBe(all.filter((event) => event.ts < Math.floor(cutoff / MINUTE_MS) * MINUTE_MS).length);
  await check(
    all.filter((event) => event.ts >= Math.floor(cutoff / MINUTE_MS) * MINUTE_MS),
    'after retention',
  );
  expect(await sqlCount(`SELECT SUM(event_count) AS n FROM rollup_minutes WHERE ${appFilter}`)).toBe(all.filter((event) => event.ts >= Math.floor(cutoff / MINUTE_MS) * MINUTE_MS).length);
}
