import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import { createCollector, createSqliteStorage, type CollectorOptions, type CollectorStorage } from '../src/index.js';
import { heartbeatEvent, inferenceEvent } from './event-factory.js';

const KEY = 'limits-key';
const admin = { authorization: 'Bearer admin' };
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function start(options: Partial<CollectorOptions> = {}): { app: FastifyInstance; storage: CollectorStorage } {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-limits-'));
  const storage = options.storage ?? createSqliteStorage({ path: join(dir, 'events.sqlite') });
  const app = createCollector({ storage, ingestKeys: { [KEY]: 'shop' }, adminToken: 'admin', rollupIntervalMs: 0, rateLimit: { max: 1_000_000, timeWindowMs: 60_000 }, ...options });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => app.close());
  return { app, storage };
}

const post = (app: FastifyInstance, events: readonly TelemetryEvent[]) =>
  app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': KEY, origin: 'https://shop.example' }, payload: { events } });

describe('accepted ts window', () => {
  it('refuses far-future and far-past events, heartbeats too, listing them, and stores the rest of the batch', async () => {
    const { app } = start({ retentionDays: 7 });
    const now = Date.now();
    const batch = [inferenceEvent(), heartbeatEvent({ ts: 1e15, deviceId: 'pinned' }), inferenceEvent({ ts: 2 ** 53 - 1 }), inferenceEvent({ ts: now - 8 * 86_400_000 }), inferenceEvent({ ts: now + 60_000 })];
    const response = await post(app, batch);
    // The two events inside the window (a clock one minute fast included) are stored and acknowledged.
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body).toMatchObject({ accepted: 2, duplicates: 0, rejected: { count: 3, code: 'collector/invalid-timestamp' } });
    expect(body.rejected.events.map((event: { index: number }) => event.index)).toEqual([1, 2, 3]);
    expect(body.rejected.events[0]).toEqual({ index: 1, eventId: batch[1]!.eventId, ts: 1e15 });
    const devices = (await app.inject({ url: '/v1/devices', headers: admin })).json();
    expect(devices.devices).toEqual([]);
    const stats = (await app.inject({ url: `/v1/stats?from=0&to=${now + 120_000}`, headers: admin })).json();
    expect(stats.groups.reduce((sum: number, group: { count: number }) => sum + group.count, 0)).toBe(2);
    expect((await app.inject({ url: '/metrics' })).body).toMatch(/edgeinfer_collector_events_rejected_total\{app="shop",code="collector\/invalid-timestamp"\} 3/);
  });

  it('refuses a batch whose events are all outside the window whole, with a typed 400 listing them', async () => {
    const { app } = start({ retentionDays: 7 });
    const batch = [heartbeatEvent({ ts: 1e15, deviceId: 'pinned' }), inferenceEvent({ ts: 2 ** 53 - 1 })];
    const response = await post(app, batch);
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'collector/invalid-timestamp', details: { count: 2, events: [{ index: 0, eventId: batch[0]!.eventId, ts: 1e15 }, { index: 1 }] } });
  });

  it('takes the window from options', async () => {
    const { app } = start({ acceptTs: { pastMs: 60_000, futureMs: 1000 } });
    expect((await post(app, [inferenceEvent({ ts: Date.now() - 120_000 })])).statusCode).toBe(400);
    expect((await post(app, [inferenceEvent({ ts: Date.now() + 30_000 })])).statusCode).toBe(400);
    expect((await post(app, [inferenceEvent({ ts: Date.now() - 30_000 })])).statusCode).toBe(200);
  });

  it('retention removes events already stored with a ts past the window, and their rollups', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-limits-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const storage = createSqliteStorage({ path: join(dir, 'events.sqlite') });
    const now = Date.now();
    const kept = inferenceEvent({ ts: now - 1000 });
    await storage.insertBatch('shop', [kept, heartbeatEvent({ ts: 1e15, deviceId: 'pinned' }), inferenceEvent({ ts: now + 3_600_000 })], now);
    while (!(await storage.rollUp({ now })).idle);
    expect((await storage.devices(now - 60_000)).map((device) => device.deviceId)).toEqual(['pinned']);
    const { app } = start({ storage });
    await app.ready();
    expect(await storage.devices(now - 60_000)).toEqual([]);
    const stats = await storage.stats({ from: 0, to: 2 ** 53 - 1 });
    expect(stats.groups.reduce((sum, group) => sum + group.count, 0)).toBe(1);
  });
});

describe('cardinality limits', () => {
  it('limits distinct models, versions and devices per app with a typed 429 naming the limit', async () => {
    const { app } = start({ cardinality: { maxModels: 3, maxVersionsPerModel: 2, maxDevices: 2 } });
    const model = (id: string, version = '1') => ({ model: { id, version, variant: 'int8' } });
    expect((await post(app, [inferenceEvent(model('a')), inferenceEvent(model('b')), inferenceEvent(model('c'))])).statusCode).toBe(200);
    const tooMany = await post(app, [inferenceEvent(model('a')), inferenceEvent(model('junk-1'))]);
    expect(tooMany.statusCode).toBe(429);
    expect(tooMany.json()).toMatchObject({ code: 'collector/cardinality-limit', details: { limit: 'models', max: 3, app: 'shop', events: [1] } });
    expect(Number(tooMany.headers['retry-after'])).toBeGreaterThan(0);
    expect(tooMany.headers['access-control-expose-headers']).toContain('retry-after');
    // Known models still get through.
    expect((await post(app, [inferenceEvent(model('a')), inferenceEvent(model('a', '2'))])).statusCode).toBe(200);
    expect((await post(app, [inferenceEvent(model('a', '3'))])).json()).toMatchObject({ details: { limit: 'versions', model: 'a' } });
    expect((await post(app, [heartbeatEvent({ deviceId: 'd1' }), heartbeatEvent({ deviceId: 'd2' })])).statusCode).toBe(200);
    expect((await post(app, [heartbeatEvent({ deviceId: 'd3' })])).json()).toMatchObject({ details: { limit: 'devices', max: 2 } });
  });

  it('frees a place once a value has not been seen for a whole window', async () => {
    const { app } = start({ cardinality: { maxModels: 1, windowMs: 200 } });
    expect((await post(app, [inferenceEvent({ model: { id: 'old', version: '1', variant: 'x' } })])).statusCode).toBe(200);
    expect((await post(app, [inferenceEvent({ model: { id: 'new', version: '1', variant: 'x' } })])).statusCode).toBe(429);
    await expect
      .poll(async () => (await post(app, [inferenceEvent({ model: { id: 'new', version: '1', variant: 'x' } })])).statusCode, { timeout: 10_000, interval: 100 })
      .toBe(200);
  });

  it('keeps 50,000 junk model ids out, and keeps real models in /metrics while junk is sent', async () => {
    const { app } = start({ cardinality: { maxModels: 20 } });
    const real = { id: 'mnist', version: '1.0.0', variant: 'int8' };
    expect((await post(app, [inferenceEvent({ model: real, totalMs: 3 })])).statusCode).toBe(200);
    let accepted = 0;
    let limited = 0;
    for (let batch = 0; batch < 100; batch += 1) {
      const junk = Array.from({ length: 500 }, (_, index) => inferenceEvent({ model: { id: `junk-${batch}-${index}`, version: '1', variant: 'x' } }));
      const response = await post(app, junk);
      if (response.statusCode === 200) accepted += 1;
      else if (response.statusCode === 429) limited += 1;
    }
    expect(accepted).toBe(0);
    expect(limited).toBe(100);
    // Junk that fits the limit one id at a time is admitted up to the limit, never past it.
    for (let index = 0; index < 40; index += 1) await post(app, [inferenceEvent({ model: { id: `one-${index}`, version: '1', variant: 'x' } })]);
    expect((await post(app, [inferenceEvent({ model: real, totalMs: 4 })])).statusCode).toBe(200);
    const stats = (await app.inject({ url: '/v1/stats?from=0', headers: admin })).json();
    expect(new Set(stats.groups.map((group: { model: string }) => group.model)).size).toBe(20);
    const metrics = (await app.inject('/metrics')).body;
    expect(metrics).toContain('edgeinfer_inference_duration_ms_count{app="shop",model="mnist",backend="wasm"} 2');
    expect(metrics).not.toContain('model="other"');
  });
});

describe('paging and /metrics', () => {
  it('answers 10,000 groups a page at a time: top-N by event count, with offset and search', async () => {
    const { app, storage } = start({ cardinality: { maxModels: 20_000 } });
    const now = Date.now();
    const events: TelemetryEvent[] = [];
    for (let index = 0; index < 10_000; index += 1) events.push(inferenceEvent({ ts: now - 1000, model: { id: `model-${index}`, version: '1', variant: 'x' } }));
    for (let index = 0; index < 7; index += 1) events.push(inferenceEvent({ ts: now - 1000, model: { id: 'busiest', version: '1', variant: 'x' } }));
    for (let index = 0; index < 3; index += 1) events.push(inferenceEvent({ ts: now - 1000, model: { id: 'second', version: '1', variant: 'x' } }));
    for (let index = 0; index < events.length; index += 500) await storage.insertBatch('shop', events.slice(index, index + 500), now);
    const page = (await app.inject({ url: `/v1/stats?from=${now - 60_000}&bucket=60s&limit=10`, headers: admin })).json();
    expect(page.totalGroups).toBe(10_002);
    expect(page.groups).toHaveLength(10);
    expect(page.groups.slice(0, 2).map((group: { model: string; count: number }) => [group.model, group.count])).toEqual([['busiest', 7], ['second', 3]]);
    expect(new Set(page.buckets.map((bucket: { model: string }) => bucket.model)).size).toBeLessThanOrEqual(10);
    const next = (await app.inject({ url: `/v1/stats?from=${now - 60_000}&limit=10&offset=10`, headers: admin })).json();
    expect(next.groups.map((group: { model: string }) => group.model)).not.toContain('busiest');
    const found = (await app.inject({ url: `/v1/stats?from=${now - 60_000}&limit=10&search=MODEL-999`, headers: admin })).json();
    expect(found.totalGroups).toBe(11);
    expect((await app.inject({ url: '/v1/stats?limit=5000', headers: admin })).json().code).toBe('collector/invalid-query');
  });

  it('puts /metrics behind the admin token when asked', async () => {
    const { app } = start({ metricsAuth: true });
    expect((await app.inject('/metrics')).statusCode).toBe(401);
    expect((await app.inject({ url: '/metrics', headers: admin })).statusCode).toBe(200);
  });

  it('exposes Retry-After to cross-origin pages on every ingest answer', async () => {
    const { app } = start({ rateLimit: { max: 1, timeWindowMs: 60_000 } });
    const ok = await post(app, [inferenceEvent()]);
    expect(ok.headers['access-control-expose-headers']).toBe('retry-after');
    const limited = await post(app, [inferenceEvent()]);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['access-control-allow-origin']).toBe('*');
    expect(limited.headers['access-control-expose-headers']).toBe('retry-after');
  });
});

describe('stats queries off the event loop', () => {
  it('answers /healthz and ingest while a heavy 24 h stats query runs on its query thread', async () => {
    const { app, storage } = start();
    const now = Date.now();
    // 120,000 events over 24 hours, not rolled up: the query reads and sorts every one.
    for (let batch = 0; batch < 240; batch += 1) {
      await storage.insertBatch('shop', Array.from({ length: 500 }, (_, index) => inferenceEvent({ ts: now - 86_000_000 + (batch * 500 + index) * 700, totalMs: (index * 7919) % 1000 })), now);
    }
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const order: string[] = [];
    const statsStarted = performance.now();
    const stats = fetch(`${url}/v1/stats?from=${now - 86_400_000}&to=${now}&bucket=1440000ms`, { headers: admin }).then(async (response) => {
      order.push('stats');
      return { status: response.status, body: (await response.json()) as { groups: { count: number }[] }, ms: performance.now() - statsStarted };
    });
    const healthDelays: number[] = [];
    let healthAnswers = 0;
    while (!order.includes('stats') && healthAnswers < 20) {
      const sent = performance.now();
      const health = await fetch(`${url}/healthz`);
      healthDelays.push(performance.now() - sent);
      expect(health.status).toBe(200);
      if (!order.includes('stats')) healthAnswers += 1;
    }
    const ingest = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': KEY }, body: JSON.stringify({ events: [inferenceEvent()] }) });
    if (!order.includes('stats')) order.push('ingest');
    expect(ingest.status).toBe(200);
    const answer = await stats;
    expect(answer.status).toBe(200);
    expect(answer.body.groups.reduce((sum, group) => sum + group.count, 0)).toBeGreaterThanOrEqual(120_000);
    console.log(`stats query ${answer.ms.toFixed(0)} ms; /healthz answered ${healthAnswers} times meanwhile, slowest ${Math.max(...healthDelays).toFixed(1)} ms`);
    // Several health checks, one after another, and an ingest were answered before the query finished.
    expect(healthAnswers).toBeGreaterThanOrEqual(5);
    expect(order[0]).toBe('ingest');
  }, 120_000);

  it('abandons a query past its time limit with collector/query-timeout and keeps serving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-limits-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const storage = createSqliteStorage({ path: join(dir, 'events.sqlite'), queryTimeoutMs: 1 });
    const { app } = start({ storage });
    const now = Date.now();
    for (let batch = 0; batch < 40; batch += 1) await storage.insertBatch('shop', Array.from({ length: 500 }, (_, index) => inferenceEvent({ ts: now - 80_000_000 + (batch * 500 + index) * 1000 })), now);
    const response = await app.inject({ url: `/v1/stats?from=${now - 86_400_000}`, headers: admin });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toMatchObject({ code: 'collector/query-timeout', details: { timeoutMs: 1 } });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await post(app, [inferenceEvent()])).statusCode).toBe(200);
  });
});
