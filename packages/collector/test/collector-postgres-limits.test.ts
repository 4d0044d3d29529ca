import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import { createCollector, createPostgresStorage, type CollectorOptions } from '../src/index.js';
import { heartbeatEvent, inferenceEvent } from './event-factory.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';

const KEY = 'pg-limits-key';
let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two collector processes' apps (each its own storage, pool and limiter) on one database, for one app name. */
async function fleet(app: string, cardinality: CollectorOptions['cardinality'], size = 2): Promise<FastifyInstance[]> {
  return Promise.all(
    Array.from({ length: size }, async () => {
      const storage = await createPostgresStorage({ connectionString: server.url, maxConnections: 4 });
      const collector = createCollector({ storage, ingestKeys: { [KEY]: app }, adminToken: 'admin', rollupIntervalMs: 0, heartbeatCheckMs: 0, rateLimit: { max: 1_000_000, timeWindowMs: 60_000 }, cardinality });
      cleanups.push(() => collector.close());
      return collector;
    }),
  );
}

const post = (collector: FastifyInstance, events: readonly TelemetryEvent[]) =>
  collector.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': KEY }, payload: { events } });
const model = (id: string, version = '1') => ({ model: { id, version, variant: 'int8' } });

describe('cardinality limits across collectors sharing one PostgreSQL', { timeout: 180_000 }, () => {
  it('holds the models, versions and devices limits over both collectors, not per process', async () => {
    const [a, b] = await fleet('shared-limits', { maxModels: 3, maxVersionsPerModel: 2, maxDevices: 2 });
    const first = await post(a!, [inferenceEvent(model('m1')), inferenceEvent(model('m2'))]);
    expect(first.statusCode).toBe(200);
    expect((await post(b!, [inferenceEvent(model('m3'))])).statusCode).toBe(200);
    // Collector B has seen only one model itself; the database knows three.
    const refused = await post(b!, [inferenceEvent(model('m3')), inferenceEvent(model('junk'))]);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ code: 'collector/cardinality-limit', details: { limit: 'models', max: 3, app: 'shared-limits', events: [1] } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect((await post(a!, [inferenceEvent(model('junk'))])).statusCode).toBe(429);
    // Models admitted through the other collector still get through either one.
    expect((await post(b!, [inferenceEvent(model('m1')), inferenceEvent(model('m2'))])).statusCode).toBe(200);

    expect((await post(a!, [inferenceEvent(model('m1', '2'))])).statusCode).toBe(200);
    expect((await post(b!, [inferenceEvent(model('m1', '3'))])).json()).toMatchObject({ details: { limit: 'versions', model: 'm1', max: 2 } });

    expect((await post(a!, [heartbeatEvent({ deviceId: 'd1' })])).statusCode).toBe(200);
    expect((await post(b!, [heartbeatEvent({ deviceId: 'd2' })])).statusCode).toBe(200);
    expect((await post(a!, [heartbeatEvent({ deviceId: 'd3' })])).json()).toMatchObject({ details: { limit: 'devices', max: 2 } });
    expect((await post(b!, [heartbeatEvent({ deviceId: 'd1' })])).statusCode).toBe(200);

    // Nothing of the refused batches was stored.
    const stats = (await a!.inject({ url: `/v1/stats?from=0&to=${Date.now() + 60_000}&app=shared-limits&model=junk`, headers: { authorization: 'Bearer admin' } })).json();
    expect(stats.groups).toEqual([]);
  });

  it('admits exactly the limit when many collectors post new models at the same moment', async () => {
    const collectors = await fleet('shared-race', { maxModels: 5 }, 3);
    const answers = await Promise.all(
      Array.from({ length: 15 }, (_, index) => post(collectors[index % collectors.length]!, [inferenceEvent(model(`race-${index}`))])),
    );
    expect(answers.filter((answer) => answer.statusCode === 200)).toHaveLength(5);
    expect(answers.filter((answer) => answer.statusCode === 429)).toHaveLength(10);
    const stats = (await collectors[0]!.inject({ url: `/v1/stats?from=0&to=${Date.now() + 60_000}&app=shared-race`, headers: { authorization: 'Bearer admin' } })).json();
    expect(new Set(stats.groups.map((group: { model: string }) => group.model)).size).toBe(5);
  });

  it('frees a place for every collector once a value has not been seen by any for a whole window', async () => {
    const [a, b] = await fleet('shared-window', { maxModels: 1, windowMs: 1000 });
    expect((await post(a!, [inferenceEvent(model('old'))])).statusCode).toBe(200);
    expect((await post(b!, [inferenceEvent(model('new'))])).statusCode).toBe(429);
    await expect.poll(async () => (await post(b!, [inferenceEvent(model('new'))])).statusCode, { timeout: 30_000, interval: 200 }).toBe(200);
    // Now "new" holds the place for collector A too.
    expect((await post(a!, [inferenceEvent(model('old'))])).statusCode).toBe(429);
  });
});
