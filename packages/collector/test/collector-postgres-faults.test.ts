import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import { createCollector, createPostgresStorage } from '../src/index.js';
import { inferenceEvent } from './event-factory.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';

const KEY = 'pg-fault-key';
let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(): Promise<FastifyInstance> {
  const storage = await createPostgresStorage({ connectionString: server.url, connectTimeoutMs: 5000 });
  const app = createCollector({ storage, ingestKeys: { [KEY]: 'pg-faults' }, adminToken: 'admin', rollupIntervalMs: 0, heartbeatCheckMs: 0 });
  cleanups.push(() => app.close());
  return app;
}

/** Posts a batch; remembers its ids when the collector acknowledged it. */
async function post(app: FastifyInstance, acknowledged: Set<string>, events: TelemetryEvent[] = Array.from({ length: 20 }, () => inferenceEvent())) {
  const response = await app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': KEY }, payload: { events } });
  if (response.statusCode === 200) events.forEach((event) => acknowledged.add(event.eventId));
  return { response, ids: events.map((event) => event.eventId) };
}

/** Runs SQL as the superuser on its own connection (the operator, not the collector). */
async function admin(...statements: string[]): Promise<pg.QueryResult[]> {
  const client = new pg.Client({ connectionString: server.url });
  await client.connect();
  try {
    // The operator's own session must be able to undo a read-only default.
    await client.query('SET default_transaction_read_only = off');
    const results: pg.QueryResult[] = [];
    for (const statement of statements) results.push(await client.query(statement));
    return results;
  } finally {
    await client.end();
  }
}

async function storedIds(ids: readonly string[]): Promise<Set<string>> {
  const [result] = await admin(`SELECT event_id FROM events WHERE event_id IN (${ids.map((id) => `'${id}'`).join(', ') || "''"})`);
  return new Set(result!.rows.map((row: { event_id: string }) => row.event_id));
}

const readyStatus = async (app: FastifyInstance) => (await app.inject('/readyz')).statusCode;

describe('PostgreSQL readiness and ingest under server faults', { timeout: 180_000 }, () => {
  it('fails /readyz and refuses ingest with 503 while the server is read-only, and recovers when it takes writes again', async () => {
    const app = await start();
    const acknowledged = new Set<string>();
    expect((await app.inject('/readyz')).json()).toEqual({ ok: true, storage: 'postgres' });
    expect((await post(app, acknowledged)).response.statusCode).toBe(200);

    // What a managed PostgreSQL does when its disk nearly fills, and what an operator does to fence a
    // primary: every session, the collector's already-open pooled connections too, becomes read-only.
    await admin('ALTER SYSTEM SET default_transaction_read_only = on', 'SELECT pg_reload_conf()');
    await expect.poll(() => readyStatus(app), { timeout: 60_000, interval: 100 }).toBe(503);
    const readyz = await app.inject('/readyz');
    expect(readyz.json()).toMatchObject({ code: 'collector/storage-read-only', details: { sqlState: '25006' } });
    const refused: string[] = [];
    for (let batch = 0; batch < 5; batch += 1) {
      const { response, ids } = await post(app, acknowledged);
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'collector/storage-read-only' });
      refused.push(...ids);
    }

    await admin('ALTER SYSTEM RESET default_transaction_read_only', 'SELECT pg_reload_conf()');
    await expect.poll(() => readyStatus(app), { timeout: 60_000, interval: 100 }).toBe(200);
    expect((await post(app, acknowledged)).response.statusCode).toBe(200);

    // Every acknowledged event is stored; none of the refused ones is.
    expect(await storedIds([...acknowledged])).toEqual(acknowledged);
    expect((await storedIds(refused)).size).toBe(0);
  });

  it('fails /readyz and refuses ingest with 503 while the server is down, and recovers when it is back', async () => {
    const app = await start();
    const acknowledged = new Set<string>();
    expect((await post(app, acknowledged)).response.statusCode).toBe(200);
    expect(await readyStatus(app)).toBe(200);

    server.halt();
    let resumed = false;
    cleanups.push(() => (resumed ? undefined : server.resume()));
    const readyz = await app.inject('/readyz');
    expect(readyz.statusCode).toBe(503);
    expect(readyz.json()).toMatchObject({ code: 'collector/storage' });
    const refused: string[] = [];
    for (let batch = 0; batch < 5; batch += 1) {
      const { response, ids } = await post(app, acknowledged);
      expect(response.statusCode).toBe(503);
      expect(response.json().code).toMatch(/^collector\/storage/);
      refused.push(...ids);
    }

    server.resume();
    resumed = true;
    // The pool drops the connections the restart broke and opens new ones: no restart of the collector.
    await expect.poll(() => readyStatus(app), { timeout: 60_000, interval: 100 }).toBe(200);
    for (let batch = 0; batch < 3; batch += 1) expect((await post(app, acknowledged)).response.statusCode).toBe(200);

    expect(await storedIds([...acknowledged])).toEqual(acknowledged);
    expect((await storedIds(refused)).size).toBe(0);
  });

  it('keeps one readiness row per running collector and removes it on close', async () => {
    const app = await start();
    await app.inject('/readyz');
    const [before] = await admin('SELECT COUNT(*)::int AS n FROM readiness_probes');
    expect(before!.rows[0].n).toBeGreaterThanOrEqual(1);
    await app.close();
    const [after] = await admin('SELECT COUNT(*)::int AS n FROM readiness_probes');
    expect(after!.rows[0].n).toBe(before!.rows[0].n - 1);
  });
});
