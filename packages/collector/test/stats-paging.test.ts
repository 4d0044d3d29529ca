import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '@edgeinfer/core';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import { createCollector, createPostgresStorage, createSqliteStorage, type CollectorStorage, type GroupStats, type StatsQuery, type StatsResult } from '../src/index.js';
import type { StatsPage } from '../src/stats-page.js';
import { errorEvent, inferenceEvent } from './event-factory.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';

/**
 * The page as GET /v1/stats computed it before issue 15's fix, from the stats of every group:
 * filter by search, stable sort by count (ties keep the full answer's key order), slice, and keep
 * the buckets of the page's groups. The paged query must give exactly this.
 */
function pageOfFullStats(result: StatsResult, page: StatsPage) {
  const keyOf = (group: GroupStats) => JSON.stringify([group.app, group.model, group.version, group.variant, group.backend]);
  const needle = page.search?.toLowerCase();
  const matching = needle === undefined ? result.groups : result.groups.filter((group) => [group.app, group.model, group.version, group.variant, group.backend].some((value) => value !== null && value.toLowerCase().includes(needle)));
  const ranked = [...matching].sort((a, b) => b.count - a.count);
  const groups = ranked.slice(page.offset, page.offset + page.limit);
  const keys = new Set(groups.map(keyOf));
  return { ...result, groups, buckets: result.buckets.filter((bucket) => keys.has(keyOf(bucket))), totalGroups: matching.length, limit: page.limit, offset: page.offset };
}

const BASE = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;

/**
 * ~400 groups over two apps with counts of 1 to 6 (many ties), null dimensions, mixed case and
 * non-ASCII ids, errors, and events over 5 minutes: some rolled up, some arriving after the roll-up.
 */
function fleetEvents(seed: number): TelemetryEvent[] {
  const random = mulberry32(seed);
  const events: TelemetryEvent[] = [];
  for (let index = 0; index < 400; index += 1) {
    const model = { id: index % 17 === 0 ? `Junk-Ä-${index}` : `m-${index}`, version: index % 5 === 0 ? '2.0.0' : '1.0.0', variant: index % 3 === 0 ? 'int8' : 'float32' };
    const backend = index % 11 === 0 ? undefined : index % 2 === 0 ? 'wasm' : 'webgpu';
    const n = 1 + Math.floor(random() ** 3 * 6);
    for (let event = 0; event < n; event += 1) {
      const ts = BASE + Math.floor(random() * 300_000);
      const totalMs = Math.round(random() * 400) / 10;
      events.push(random() < 0.15 ? errorEvent({ ts, model, backend }) : inferenceEvent({ ts, model, backend, totalMs, runMs: totalMs }));
    }
  }
  // Groups without a model at all.
  for (let index = 0; index < 3; index += 1) events.push(errorEvent({ ts: BASE + 1000 * index, model: undefined, backend: undefined }));
  return events;
}

async function fill(storage: CollectorStorage): Promise<void> {
  const events = fleetEvents(15);
  const half = Math.floor(events.length / 2);
  for (let index = 0; index < half; index += 250) await storage.insertBatch(index % 500 === 0 ? 'shop' : 'kiosk', events.slice(index, Math.min(index + 250, half)), BASE + 400_000);
  while (!(await storage.rollUp({ now: BASE + 400_000 })).idle);
  for (let index = half; index < events.length; index += 250) await storage.insertBatch(index % 500 === 0 ? 'shop' : 'kiosk', events.slice(index, Math.min(index + 250, events.length)), BASE + 400_000);
}

const QUERIES: StatsQuery[] = [
  // Partial minutes at both ends, minute buckets from rollups and raw rows.
  { from: BASE + 30_000, to: BASE + 280_000, bucketMs: 60_000 },
  // Buckets that are not whole minutes are read raw; one app only.
  { from: BASE, to: BASE + 300_000, bucketMs: 45_000, app: 'kiosk' },
  { from: BASE, to: BASE + 300_000, type: 'error' },
];

async function expectPagesEqualFullStats(storage: CollectorStorage): Promise<number> {
  let pages = 0;
  for (const query of QUERIES) {
    const full = await storage.stats(query);
    expect(full.groups.length).toBeGreaterThan(0);
    for (const search of [undefined, 'ä', 'M-1', 'WEBGPU', 'kiosk', 'no such group']) {
      for (const limit of search === undefined ? [7, 50] : [7]) {
        const total = pageOfFullStats(full, { limit, offset: 0, search }).totalGroups;
        // Every page, and one past the end.
        for (let offset = 0; offset <= total; offset += limit) {
          const page = { limit, offset, search };
          expect(await storage.stats({ ...query, page }), JSON.stringify({ query, page })).toEqual(pageOfFullStats(full, page));
          pages += 1;
        }
      }
    }
  }
  return pages;
}

describe('GET /v1/stats pages: ranked by count first, percentiles for the page only, same answer as before', () => {
  describe('SQLite', () => {
    let dir: string;
    let storage: CollectorStorage;
    let app: FastifyInstance;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'edgeinfer-paging-'));
      // A file, so stats run on the query threads as they do in the collector.
      storage = createSqliteStorage({ path: join(dir, 'events.sqlite') });
      app = createCollector({ storage, ingestKeys: { key: 'shop' }, adminToken: 'admin', rollupIntervalMs: 0 });
      await fill(storage);
    });
    afterAll(async () => {
      await app?.close(); // closes the storage too
      rmSync(dir, { recursive: true, force: true });
    });

    it('gives every page equal to the all-groups-then-slice answer', async () => {
      expect(await expectPagesEqualFullStats(storage)).toBeGreaterThan(100);
    });

    it('answers the same page over HTTP', async () => {
      const query = QUERIES[0]!;
      const full = await storage.stats(query);
      const page = (await app.inject({ url: `/v1/stats?from=${query.from}&to=${query.to}&bucket=60s&limit=20&offset=20&search=m-`, headers: { authorization: 'Bearer admin' } })).json();
      expect(page.groups).toHaveLength(20);
      expect(page).toEqual(JSON.parse(JSON.stringify(pageOfFullStats(full, { limit: 20, offset: 20, search: 'm-' }))));
    });
  });

  describe('PostgreSQL', () => {
    let server: PostgresServer;
    let storage: CollectorStorage;
    beforeAll(async () => {
      server = await startPostgres();
      storage = await createPostgresStorage({ connectionString: server.url });
      await fill(storage);
    }, 120_000);
    afterAll(async () => {
      await storage?.close();
      server?.stop();
    });

    it('gives every page equal to the all-groups-then-slice answer', async () => {
      expect(await expectPagesEqualFullStats(storage)).toBeGreaterThan(100);
    });
  });
});
