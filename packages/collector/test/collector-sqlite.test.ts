import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createCollector, createSqliteStorage, type CollectorStorage } from '../src/index.js';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from '../src/migrations.js';
import { EVENT_COLUMNS, toEventRow } from '../src/storage.js';
import { errorEvent, heartbeatEvent, inferenceEvent } from './event-factory.js';
import { expectExactThroughRollups, expectStatsMatchBruteForce, randomEvents } from './stats-reference.js';

const KEY = 'key-shop';
const ADMIN = 'admin-secret';
const admin = { authorization: `Bearer ${ADMIN}` };

let dir: string;
let dbPath: string;
let app: FastifyInstance;

function start(options: { rateLimit?: { max: number; timeWindowMs: number }; bodyLimit?: number; retentionDays?: number; rollupIntervalMs?: number; storage?: CollectorStorage } = {}) {
  app = createCollector({
    storage: options.storage ?? createSqliteStorage({ path: dbPath }),
    ingestKeys: { [KEY]: 'shop', 'key-kiosk': 'kiosk' },
    adminToken: ADMIN,
    ...options,
  });
  return app;
}

const post = (body: unknown, headers: Record<string, string> = { 'x-edgeinfer-key': KEY }) =>
  app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', ...headers }, payload: typeof body === 'string' ? body : JSON.stringify(body) });

function storedRows(): Record<string, unknown>[] {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare('SELECT * FROM events ORDER BY ts').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgeinfer-collector-'));
  dbPath = join(dir, 'events.sqlite');
});

afterEach(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ingest', () => {
  it('stores a batch and acknowledges it with accepted and duplicate counts', async () => {
    start();
    const events = [inferenceEvent(), inferenceEvent(), errorEvent()];
    const response = await post({ events });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ accepted: 3, duplicates: 0 });
    expect(storedRows().map((row) => row['event_id']).sort()).toEqual(events.map((event) => event.eventId).sort());
    expect(storedRows().every((row) => row['app'] === 'shop')).toBe(true);
  });

  it('counts a retried batch once: a resend is acknowledged as duplicates', async () => {
    start();
    const events = [inferenceEvent(), inferenceEvent()];
    expect((await post({ events })).json()).toEqual({ accepted: 2, duplicates: 0 });
    expect((await post({ events: [...events, inferenceEvent()] })).json()).toEqual({ accepted: 1, duplicates: 2 });
    expect(storedRows()).toHaveLength(3);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toContain('edgeinfer_collector_events_accepted_total{app="shop",type="inference"} 3');
    expect(metrics).toContain('edgeinfer_collector_events_duplicate_total{app="shop"} 2');
  });

  it('accepts the key in the query and JSON sent as text/plain, as sendBeacon posts it', async () => {
    start();
    const response = await app.inject({ method: 'POST', url: `/v1/events?key=${KEY}`, headers: { 'content-type': 'text/plain;charset=UTF-8' }, payload: JSON.stringify({ events: [inferenceEvent()] }) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });

  it('rejects a missing or unknown ingest key with 401 and a typed error', async () => {
    start();
    for (const headers of [{} as Record<string, string>, { 'x-edgeinfer-key': 'wrong' }, { 'x-edgeinfer-key': '__proto__' }, { 'x-edgeinfer-key': 'constructor' }]) {
      const response = await post({ events: [inferenceEvent()] }, headers);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: 'collector/auth' });
    }
    expect(storedRows()).toHaveLength(0);
  });

  it('answers a malformed batch with 400, the path of the problem, and stores none of it', async () => {
    start();
    const good = inferenceEvent();
    const cases: [unknown, string][] = [
      ['{"events": [', 'collector/invalid-batch'],
      [{ events: [good, { ...inferenceEvent(), totalMs: 'fast' }] }, 'events[1].totalMs'],
      [{ events: [{ ...inferenceEvent(), inputPixels: [1, 2, 3] }] }, 'events[0].inputPixels'],
      [{ events: [{ ...inferenceEvent(), model: { id: 'https://cdn.example/model.onnx?token=secret', version: '1', variant: 'x' } }] }, 'events[0].model.id'],
      [{ events: [] }, 'events'],
      [{ events: [{ ...inferenceEvent(), eventId: 'not-a-uuid' }] }, 'events[0].eventId'],
      [[good], '(body)'],
      ['null', '(body)'],
    ];
    for (const [body, where] of cases) {
      const response = await post(body);
      expect(response.statusCode, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(response.json().code).toBe('collector/invalid-batch');
      if (where !== 'collector/invalid-batch') expect(response.json().message).toContain(where);
    }
    expect(storedRows()).toHaveLength(0);
  });

  it('stores SQL-looking and HTML-looking strings verbatim as data', async () => {
    start();
    const model = { id: "x'); DROP TABLE events; --", version: '<img src=x onerror=alert(1)>', variant: '" OR 1=1 --' };
    expect((await post({ events: [inferenceEvent({ model })] })).statusCode).toBe(200);
    const [row] = storedRows();
    expect(row).toMatchObject({ model_id: model.id, model_version: model.version, model_variant: model.variant });
  });

  it('answers a body over the limit with 413 and a typed error', async () => {
    start({ bodyLimit: 4096 });
    const events = Array.from({ length: 40 }, () => inferenceEvent());
    const response = await post({ events });
    expect(response.statusCode).toBe(413);
    expect(response.json().code).toBe('collector/payload-too-large');
    expect(storedRows()).toHaveLength(0);
  });

  it('limits each ingest key separately and says when to retry', async () => {
    start({ rateLimit: { max: 3, timeWindowMs: 60_000 } });
    for (let index = 0; index < 3; index += 1) expect((await post({ events: [inferenceEvent()] })).statusCode).toBe(200);
    const limited = await post({ events: [inferenceEvent()] });
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.json().code).toBe('collector/rate-limited');
    expect((await post({ events: [inferenceEvent()] }, { 'x-edgeinfer-key': 'key-kiosk' })).statusCode).toBe(200);
    expect(storedRows()).toHaveLength(4);
  });

  it('answers thousands of random bodies with 2xx or 4xx only, and keeps serving', async () => {
    start({ rateLimit: { max: 1_000_000, timeWindowMs: 60_000 } });
    let state = 42;
    const random = () => ((state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    // Issue 15's cases too: far-future, huge and negative ts, junk model ids.
    const atoms = ['null', 'true', '1e309', '-1', '"x"', '{}', '[]', '"\\u0000"', "'; DROP TABLE events;--", '{"__proto__":{"polluted":1}}', '9007199254740993', '1e15', '9007199254740991', '-9007199254740991', '"\\ud800junk-model"'];
    const mutate = (text: string) => {
      const chars = [...text];
      const edits = 1 + Math.floor(random() * 4);
      for (let edit = 0; edit < edits; edit += 1) {
        const at = Math.floor(random() * (chars.length + 1));
        if (random() < 0.5) chars.splice(at, 1);
        else chars.splice(at, 0, atoms[Math.floor(random() * atoms.length)]!);
      }
      return chars.join('');
    };
    const statuses = new Map<number, number>();
    const hostile = [
      { events: [heartbeatEvent({ ts: 1e15 })] },
      { events: [inferenceEvent({ ts: 2 ** 53 - 1 })] },
      { events: [inferenceEvent({ ts: -1 })] },
      { events: Array.from({ length: 500 }, (_, index) => inferenceEvent({ model: { id: `junk-${index}-${'z'.repeat(100)}`, version: '1', variant: 'x' } })) },
      { events: [inferenceEvent({ model: { id: '\u202e\u0000<script>', version: '\ufeff', variant: ' ' } })] },
    ];
    for (const body of hostile) {
      const response = await post(body);
      expect(response.statusCode, JSON.stringify(body).slice(0, 120)).toBeGreaterThanOrEqual(400);
      expect(response.statusCode).toBeLessThan(500);
      expect(typeof response.json().code).toBe('string');
    }
    // One event dated a day ahead beside a good one: the good one is stored, the other refused by index.
    const mixed = await post({ events: [inferenceEvent({ ts: Date.now() + 86_400_000 }), inferenceEvent()] });
    expect(mixed.statusCode).toBe(200);
    expect(mixed.json()).toMatchObject({ accepted: 1, rejected: { count: 1, code: 'collector/invalid-timestamp', events: [{ index: 0 }] } });
    // Padded and near-miss keys are unknown keys, never another app's.
    for (const key of [`${KEY} `, ` ${KEY}`, `${KEY}=`, `${KEY}==`, KEY.toUpperCase(), `${KEY}\u0000`]) {
      const response = await app.inject({ method: 'POST', url: `/v1/events?key=${encodeURIComponent(key)}`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ events: [inferenceEvent()] }) });
      expect(response.statusCode, JSON.stringify(key)).toBe(401);
    }
    for (let index = 0; index < 2000; index += 1) {
      const base = JSON.stringify({ events: [inferenceEvent(), heartbeatEvent()] });
      const body = random() < 0.2 ? JSON.stringify({ events: [{ ...inferenceEvent(), [atoms[index % atoms.length]!]: JSON.parse(atoms[index % 7]!) }] }) : mutate(base);
      const contentType = random() < 0.8 ? 'application/json' : random() < 0.5 ? 'text/plain' : 'application/x-www-form-urlencoded';
      const response = await app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': contentType, 'x-edgeinfer-key': KEY }, payload: body });
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      expect(response.statusCode, body).toBeLessThan(500);
      if (response.statusCode >= 400) expect(typeof response.json().code).toBe('string');
    }
    expect(statuses.get(400) ?? 0).toBeGreaterThan(100);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect((await post({ events: [inferenceEvent()] })).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });
});

describe('reads', () => {
  it('needs the admin token for stats and devices', async () => {
    start();
    for (const url of ['/v1/stats', '/v1/devices']) {
      expect((await app.inject(url)).statusCode).toBe(401);
      expect((await app.inject({ url, headers: { authorization: `Bearer ${KEY}` } })).json().code).toBe('collector/auth');
      expect((await app.inject({ url, headers: admin })).statusCode).toBe(200);
    }
  });

  it('computes per-group and per-bucket percentiles equal to a brute-force nearest rank', async () => {
    const storage = createSqliteStorage({ path: dbPath });
    // Events from 2025: accepted only with retention (and so the accepted window) off.
    start({ storage, retentionDays: 0 });
    const start0 = Date.UTC(2025, 0, 1, 12);
    for (const seed of [1, 2, 3]) {
      const events = randomEvents(seed, 3000, start0 + seed * 10_000_000);
      for (let index = 0; index < events.length; index += 500) {
        expect((await post({ events: events.slice(index, index + 500) })).statusCode).toBe(200);
      }
      const from = start0 + seed * 10_000_000;
      const checked = await expectStatsMatchBruteForce(storage, 'shop', events, { from, to: from + 3_600_000, bucketMs: 300_000 });
      expect(checked).toBeGreaterThan(100);
      await expectStatsMatchBruteForce(storage, 'shop', events.filter((event) => event.backend === 'webgpu'), { from, to: from + 1_800_000, backend: 'webgpu', app: 'shop' });
    }
  });

  it('stays exact through roll-up steps, late events, retries, compaction and retention', async () => {
    const storage = createSqliteStorage({ path: dbPath });
    start({ storage, rollupIntervalMs: 0 });
    const db = new Database(dbPath, { readonly: true });
    try {
      await expectExactThroughRollups(storage, 'shop', Date.UTC(2025, 2, 3, 4, 5, 6, 7), async (sql) => Number(db.prepare(sql).pluck().get() ?? 0));
    } finally {
      db.close();
    }
  });

  it('stays exact when two collector processes share one SQLite file and both roll up', async () => {
    const first = createSqliteStorage({ path: dbPath });
    const second = createSqliteStorage({ path: dbPath });
    start({ storage: first, rollupIntervalMs: 0 });
    try {
      const from = Date.UTC(2025, 4, 1);
      const events = randomEvents(31, 3000, from);
      // Interleaved writers leave gaps in each one's remembered batches: steps must read the file.
      for (let index = 0; index < 30; index += 1) {
        await (index % 3 === 0 ? second : first).insertBatch('shop', events.slice(index * 100, index * 100 + 100), Date.now());
        if (index % 4 === 0) await (index % 8 === 0 ? first : second).rollUp({ maxEvents: 250, now: from });
      }
      await second.insertBatch('shop', events.slice(0, 100), Date.now()); // a retry through the other process
      const query = { from, to: from + 3_600_000, bucketMs: 300_000 };
      await expectStatsMatchBruteForce(first, 'shop', events, query);
      while (!(await first.rollUp({ now: from })).idle || !(await second.rollUp({ now: from })).idle);
      await expectStatsMatchBruteForce(second, 'shop', events, query);
      const db = new Database(dbPath, { readonly: true });
      expect(db.prepare('SELECT SUM(event_count) FROM rollup_minutes').pluck().get()).toBe(events.length);
      db.close();
    } finally {
      await second.close();
    }
  });

  it('serves stats over HTTP with filters, error rate and QPS', async () => {
    start();
    const now = Date.now();
    await post({ events: [inferenceEvent({ ts: now - 1000, totalMs: 10 }), inferenceEvent({ ts: now - 900, totalMs: 30 }), errorEvent({ ts: now - 800 }), inferenceEvent({ ts: now - 700, backend: 'webgpu' })] });
    const response = await app.inject({ url: `/v1/stats?from=${now - 60_000}&to=${now}&backend=wasm&bucket=60s`, headers: admin });
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.groups).toHaveLength(1);
    expect(body.groups[0]).toMatchObject({ app: 'shop', backend: 'wasm', count: 3, inferences: 2, errors: 1, p50: 10, p95: 30, p99: 30 });
    expect(body.groups[0].errorRate).toBeCloseTo(1 / 3);
    expect(body.groups[0].qps).toBeCloseTo(3 / 60);
    expect((await app.inject({ url: '/v1/stats?bucket=soon', headers: admin })).json().code).toBe('collector/invalid-query');
    expect((await app.inject({ url: '/v1/stats?from=5&to=1', headers: admin })).statusCode).toBe(400);
  });

  it('lists devices from their latest heartbeat, alive or stale', async () => {
    start();
    const now = Date.now();
    await post({ events: [heartbeatEvent({ deviceId: 'kiosk-a', ts: now - 10 * 60_000, fps: 10 }), heartbeatEvent({ deviceId: 'kiosk-a', ts: now - 5000, fps: 29 }), heartbeatEvent({ deviceId: 'kiosk-b', ts: now - 10 * 60_000 })] });
    const body = (await app.inject({ url: '/v1/devices', headers: admin })).json();
    expect(body.devices.map((device: { deviceId: string; alive: boolean; fps: number }) => [device.deviceId, device.alive, device.fps])).toEqual([
      ['kiosk-a', true, 29],
      ['kiosk-b', false, 30],
    ]);
  });
});

describe('operations', () => {
  it('upgrades a database from before the rollups: old events fold in bounded steps and stats stay exact', async () => {
    const old = new Database(dbPath);
    old.exec(MIGRATIONS_TABLE_SQL);
    for (const migration of MIGRATIONS.filter((entry) => entry.version < 3)) {
      migration.sql.forEach((statement) => old.exec(statement));
      old.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
    }
    const from = Date.UTC(2025, 6, 1);
    const events = randomEvents(41, 3000, from);
    // The columns of events before migration 4 (score and level came with it).
    const oldColumns = EVENT_COLUMNS.filter((column) => column !== 'score' && column !== 'level');
    const insert = old.prepare(`INSERT INTO events (${oldColumns.join(', ')}) VALUES (${oldColumns.map((column) => `@${column}`).join(', ')})`);
    old.transaction(() => events.forEach((event) => {
      const { score: _score, level: _level, ...row } = toEventRow('shop', event, Date.now());
      insert.run(row);
    }))();
    old.close();

    const storage = createSqliteStorage({ path: dbPath });
    start({ storage, rollupIntervalMs: 0 });
    await expectStatsMatchBruteForce(storage, 'shop', events, { from, to: from + 3_600_000, bucketMs: 600_000 });
    const steps: number[] = [];
    for (let progress = await storage.rollUp({ maxEvents: 100, now: from }); !progress.idle; progress = await storage.rollUp({ maxEvents: 100, now: from })) steps.push(progress.events);
    expect(Math.max(...steps)).toBeLessThanOrEqual(500);
    expect(steps.reduce((total, events) => total + events, 0)).toBe(events.length);
    await expectStatsMatchBruteForce(storage, 'shop', events, { from, to: from + 3_600_000, bucketMs: 600_000 });
  });

  it('deletes events older than the retention period when it starts', async () => {
    const storage = createSqliteStorage({ path: dbPath });
    const old = inferenceEvent({ ts: Date.now() - 8 * 86_400_000 });
    const recent = inferenceEvent();
    await storage.insertBatch('shop', [old, recent], Date.now());
    start({ storage, retentionDays: 7 });
    await app.ready();
    expect(storedRows().map((row) => row['event_id'])).toEqual([recent.eventId]);
  });

  it('keeps its events in one SQLite file across restarts', async () => {
    start();
    await post({ events: [inferenceEvent()] });
    await app.close();
    start();
    expect((await app.inject({ url: '/v1/stats', headers: admin })).json().groups[0].count).toBe(1);
  });

  it('reports health, readiness and Prometheus metrics', async () => {
    start();
    await post({ events: [inferenceEvent({ totalMs: 7 })] });
    expect((await app.inject('/healthz')).json()).toEqual({ ok: true });
    expect((await app.inject('/readyz')).json()).toEqual({ ok: true, storage: 'sqlite' });
    const metrics = await app.inject('/metrics');
    expect(metrics.headers['content-type']).toContain('text/plain');
    expect(metrics.body).toContain('edgeinfer_inference_duration_ms_bucket{le="10",app="shop",model="mnist",backend="wasm"} 1');
    expect(metrics.body).toContain('edgeinfer_collector_ingest_duration_seconds_count{outcome="stored"} 1');
  });

  it('folds new events into minute rollups in the background, and counts them', async () => {
    start({ rollupIntervalMs: 20 });
    await post({ events: [inferenceEvent({ totalMs: 7 }), errorEvent()] });
    await expect.poll(async () => (await app.inject('/metrics')).body, { timeout: 5000 }).toContain('edgeinfer_collector_rollup_events_total 2');
    const db = new Database(dbPath, { readonly: true });
    try {
      expect(db.prepare('SELECT SUM(event_count) FROM rollup_minutes').pluck().get()).toBe(2);
    } finally {
      db.close();
    }
  });

  it('serves the dashboard with chart.js from node_modules and a policy that forbids inline scripts', async () => {
    start();
    const page = await app.inject('/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('/vendor/chart.umd.js');
    expect(page.body).not.toMatch(/https?:\/\//);
    const chart = await app.inject('/vendor/chart.umd.js');
    expect(chart.statusCode).toBe(200);
    expect(chart.body).toContain('Chart.js');
    const script = await app.inject('/dashboard.js');
    expect(script.body).not.toContain('innerHTML');
  });
});
