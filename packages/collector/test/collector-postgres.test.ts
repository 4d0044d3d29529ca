import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createCollector, createPostgresStorage, type CollectorStorage } from '../src/index.js';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from '../src/migrations.js';
import { EVENT_COLUMNS, toEventRow } from '../src/storage.js';
import { errorEvent, heartbeatEvent, inferenceEvent } from './event-factory.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';
import { expectExactThroughRollups, expectStatsMatchBruteForce, randomEvents } from './stats-reference.js';

let server: PostgresServer;

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);

afterAll(() => server?.stop());

async function count(query: string, values: unknown[] = []): Promise<number> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    return Number((await client.query(query, values)).rows[0].n);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL storage', () => {
  it('migrates once even when several collectors start at the same moment', async () => {
    const storages = await Promise.all(Array.from({ length: 4 }, () => createPostgresStorage({ connectionString: server.url, maxConnections: 2 })));
    expect(await count('SELECT COUNT(*) AS n FROM schema_migrations')).toBe(MIGRATIONS.length);
    await Promise.all(storages.map((storage) => storage.close()));
  });

  it('computes percentiles equal to a brute-force nearest rank, like SQLite', async () => {
    const storage = await createPostgresStorage({ connectionString: server.url });
    try {
      const from = Date.UTC(2024, 5, 1);
      const events = randomEvents(7, 4000, from);
      for (let index = 0; index < events.length; index += 500) await storage.insertBatch('pg-app', events.slice(index, index + 500), Date.now());
      expect(await expectStatsMatchBruteForce(storage, 'pg-app', events, { from, to: from + 3_600_000, app: 'pg-app', bucketMs: 600_000 })).toBeGreaterThan(50);
      await expectStatsMatchBruteForce(storage, 'pg-app', events.filter((event) => event.model?.variant === 'int8'), { from, to: from + 3_600_000, app: 'pg-app', variant: 'int8' });
    } finally {
      await storage.close();
    }
  });

  it('stays exact through roll-up steps, late events, retries, compaction and retention', async () => {
    const storage = await createPostgresStorage({ connectionString: server.url });
    try {
      // Older than every other test's events, so retention here deletes only this test's.
      await expectExactThroughRollups(storage, 'pg-rollup', Date.UTC(2020, 2, 3, 4, 5, 6, 7), (sql) => count(sql));
    } finally {
      await storage.close();
    }
  });

  it('rolls up exactly once while several processes ingest and roll up at the same time', async () => {
    const storages = await Promise.all([1, 2, 3].map(() => createPostgresStorage({ connectionString: server.url, maxConnections: 4 })));
    try {
      const from = Date.UTC(2021, 0, 1);
      const events = randomEvents(21, 6000, from);
      let ingesting = true;
      const rollers = storages.map(async (storage) => {
        while (ingesting) await storage.rollUp({ maxEvents: 300, now: from });
      });
      const batches = Array.from({ length: 60 }, (_, index) => events.slice(index * 100, index * 100 + 100));
      await Promise.all(storages.map(async (storage, which) => {
        for (const batch of batches.filter((_, index) => index % 3 === which)) await storage.insertBatch('pg-concurrent', batch, Date.now());
      }));
      ingesting = false;
      await Promise.all(rollers);
      const query = { from, to: from + 3_600_000, app: 'pg-concurrent', bucketMs: 600_000 };
      await expectStatsMatchBruteForce(storages[0]!, 'pg-concurrent', events, query);
      while (!(await storages[1]!.rollUp({ now: from })).idle);
      expect(await count("SELECT SUM(event_count) AS n FROM rollup_minutes WHERE app = 'pg-concurrent'")).toBe(events.length);
      await expectStatsMatchBruteForce(storages[2]!, 'pg-concurrent', events, query);
    } finally {
      await Promise.all(storages.map((storage) => storage.close()));
    }
  });

  it('upgrades a database from before the rollups: old events fold in bounded steps and stats stay exact', async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('CREATE DATABASE upgrade_from_v2');
    await admin.end();
    const url = server.url.replace(/\/postgres$/, '/upgrade_from_v2');
    const old = new pg.Client({ connectionString: url });
    await old.connect();
    const from = Date.UTC(2025, 7, 1);
    const events = randomEvents(43, 3000, from);
    try {
      await old.query(MIGRATIONS_TABLE_SQL);
      for (const migration of MIGRATIONS.filter((entry) => entry.version < 3)) {
        for (const statement of migration.sql) await old.query(statement);
        await old.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
      }
      for (let index = 0; index < events.length; index += 500) {
        const rows = events.slice(index, index + 500).map((event) => toEventRow('old-app', event, Date.now()));
        const params: unknown[] = [];
        // The columns of events before migration 4 (score and level came with it).
        const oldColumns = EVENT_COLUMNS.filter((column) => column !== 'score' && column !== 'level');
        const tuples = rows.map((row) => `(${oldColumns.map((column) => `$${params.push(row[column])}`).join(', ')})`);
        await old.query(`INSERT INTO events (${oldColumns.join(', ')}) VALUES ${tuples.join(', ')}`, params);
      }
    } finally {
      await old.end();
    }
    const storage = await createPostgresStorage({ connectionString: url });
    try {
      const query = { from, to: from + 3_600_000, bucketMs: 600_000 };
      await expectStatsMatchBruteForce(storage, 'old-app', events, query);
      const steps: number[] = [];
      for (let progress = await storage.rollUp({ maxEvents: 100, now: from }); !progress.idle; progress = await storage.rollUp({ maxEvents: 100, now: from })) steps.push(progress.events);
      expect(Math.max(...steps)).toBeLessThanOrEqual(500);
      expect(steps.reduce((total, folded) => total + folded, 0)).toBe(events.length);
      await expectStatsMatchBruteForce(storage, 'old-app', events, query);
    } finally {
      await storage.close();
    }
  });

  it('lets many collector processes share one database without double counting retries', async () => {
    const storages: CollectorStorage[] = await Promise.all([1, 2, 3].map(() => createPostgresStorage({ connectionString: server.url })));
    const apps = storages.map((storage) => createCollector({ storage, ingestKeys: { 'k-shared': 'shared' }, adminToken: 'admin', retentionDays: 0 }));
    try {
      const batches = Array.from({ length: 30 }, () => [inferenceEvent(), errorEvent(), heartbeatEvent()]);
      // Every batch goes to two different collectors at once, as a client retry after a lost answer would.
      const responses = await Promise.all(
        batches.flatMap((events, index) =>
          [index % 3, (index + 1) % 3].map((which) =>
            apps[which]!.inject({ method: 'POST', url: '/v1/events', headers: { 'x-edgeinfer-key': 'k-shared', 'content-type': 'application/json' }, payload: { events } }),
          ),
        ),
      );
      expect(responses.every((response) => response.statusCode === 200)).toBe(true);
      const accepted = responses.reduce((sum, response) => sum + response.json().accepted, 0);
      const duplicates = responses.reduce((sum, response) => sum + response.json().duplicates, 0);
      expect(accepted).toBe(90);
      expect(duplicates).toBe(90);
      expect(await count("SELECT COUNT(*) AS n FROM events WHERE app = 'shared'")).toBe(90);
      const stats = (await apps[2]!.inject({ url: '/v1/stats?app=shared', headers: { authorization: 'Bearer admin' } })).json();
      expect(stats.groups[0]).toMatchObject({ count: 60, inferences: 30, errors: 30 });
      expect((await apps[0]!.inject('/readyz')).json()).toEqual({ ok: true, storage: 'postgres' });
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });

  it('deletes events past retention and answers devices from heartbeats', async () => {
    const storage = await createPostgresStorage({ connectionString: server.url });
    try {
      const now = Date.now();
      await storage.insertBatch('retained', [inferenceEvent({ ts: now - 40 * 86_400_000 }), heartbeatEvent({ ts: now - 1000, deviceId: 'pg-kiosk' })], now);
      expect(await storage.deleteOlderThan(now - 30 * 86_400_000)).toBeGreaterThanOrEqual(1);
      expect(await count("SELECT COUNT(*) AS n FROM events WHERE app = 'retained'")).toBe(1);
      expect((await storage.devices(now - 60_000, 'retained')).map((device) => device.deviceId)).toEqual(['pg-kiosk']);
    } finally {
      await storage.close();
    }
  });
});

describe('PostgreSQL limits and faults', () => {
  it('fails a stats query past statement_timeout with collector/query-timeout (a lock held for real)', async () => {
    const storage = await createPostgresStorage({ connectionString: server.url, queryTimeoutMs: 300 });
    const locker = new pg.Client({ connectionString: server.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE events IN ACCESS EXCLUSIVE MODE');
      let thrown: unknown;
      try {
        await storage.stats({ from: 0, to: Date.now() });
      } catch (error) {
        thrown = error;
      }
      expect((thrown as { code?: string }).code).toBe('collector/query-timeout');
      await locker.query('ROLLBACK');
      expect((await storage.stats({ from: 0, to: 1 })).groups).toEqual([]);
    } finally {
      await locker.end();
      await storage.close();
    }
  });

  it('retention deletes events stored with a ts past the accepted window, and their rollups', async () => {
    const storage = await createPostgresStorage({ connectionString: server.url });
    try {
      const now = Date.now();
      await storage.insertBatch('pg-future', [inferenceEvent({ ts: now - 1000 }), heartbeatEvent({ ts: 1e15, deviceId: 'pinned' }), inferenceEvent({ ts: now + 3_600_000 })], now);
      while (!(await storage.rollUp({ now })).idle);
      await storage.deleteOlderThan(Number.MIN_SAFE_INTEGER, now + 300_000);
      expect(await count("SELECT COUNT(*) AS n FROM events WHERE app = 'pg-future'")).toBe(1);
      expect(await count("SELECT COALESCE(SUM(event_count), 0) AS n FROM rollup_minutes WHERE app = 'pg-future'")).toBe(1);
      expect(await storage.devices(now - 60_000, 'pg-future')).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('rejects out-of-window events over HTTP on PostgreSQL too', async () => {
    const storage = await createPostgresStorage({ connectionString: server.url });
    const app = createCollector({ storage, ingestKeys: { 'k-window': 'pg-window' }, adminToken: 'admin', retentionDays: 0, rollupIntervalMs: 0 });
    try {
      const response = await app.inject({ method: 'POST', url: '/v1/events', headers: { 'x-edgeinfer-key': 'k-window', 'content-type': 'application/json' }, payload: { events: [heartbeatEvent({ ts: 1e15 })] } });
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('collector/invalid-timestamp');
      expect(await count("SELECT COUNT(*) AS n FROM events WHERE app = 'pg-window'")).toBe(0);
    } finally {
      await app.close();
    }
  });
});
