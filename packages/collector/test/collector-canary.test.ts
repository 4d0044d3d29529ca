import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '@edgeinfer/core';
import { createMemoryEventStore, createTelemetry } from '@edgeinfer/telemetry';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { parseGuardConfig } from '../src/canary-guard.js';
import { createCollector, createSqliteStorage, type CollectorStorage } from '../src/index.js';
import { mannWhitneyU, twoProportionZTest } from '../src/significance.js';
import { heartbeatEvent, inferenceEvent } from './event-factory.js';
import { EQUAL_CANARY, STABLE, WORSE_CANARY, simulateDevices, type VersionBehaviour } from './fleet-simulator.js';

const KEY = 'key-shop';
const admin = { authorization: 'Bearer admin' };
const cleanups: (() => unknown)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-canary-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

type Options = Partial<Parameters<typeof createCollector>[0]>;
function start(options: Options = {}): { app: FastifyInstance; storage: CollectorStorage; dir: string } {
  const dir = tempDir();
  const storage = options.storage ?? createSqliteStorage({ path: join(dir, 'events.sqlite') });
  const app = createCollector({ storage, ingestKeys: { [KEY]: 'shop' }, adminToken: 'admin', rollupIntervalMs: 0, heartbeatCheckMs: 0, rateLimit: { max: 1_000_000, timeWindowMs: 60_000 }, ...options });
  cleanups.push(() => app.close());
  return { app, storage, dir };
}

async function post(app: FastifyInstance, events: readonly TelemetryEvent[]) {
  for (let index = 0; index < events.length; index += 500) {
    const response = await app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': KEY }, payload: { events: events.slice(index, index + 500) } });
    expect(response.statusCode, response.body).toBe(200);
  }
}

/** Stable and a canary over the last 50 minutes, from simulated devices. */
function fleet(canary: VersionBehaviour, count = 2000, now = Date.now()): TelemetryEvent[] {
  const from = now - 50 * 60_000;
  return [...simulateDevices({ model: 'fashion-mnist', behaviour: STABLE, count, from, to: now - 1000, seed: 1 }), ...simulateDevices({ model: 'fashion-mnist', behaviour: canary, count, from, to: now - 1000, seed: 2 })];
}

function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!;
}

const compareUrl = (extra = '') => `/v1/compare?model=fashion-mnist&candidate=1.1.0&baseline=1.0.0&from=0&to=${Date.now() + 3_600_000 - (Date.now() % 60_000)}${extra}`;

describe('significance tests', () => {
  it('Mann-Whitney U from bin counts equals U counted pair by pair, ties included', () => {
    const random = mulberry32(7);
    const a = Array.from({ length: 300 }, () => Math.round(random() * 50));
    const b = Array.from({ length: 200 }, () => Math.round(random() * 50) + 9);
    const bins = (values: number[]) => {
      const counts = new Float64Array(60);
      for (const value of values) counts[value]! += 1;
      return counts;
    };
    let pairs = 0;
    for (const x of a) for (const y of b) pairs += x > y ? 1 : x === y ? 0.5 : 0;
    const test = mannWhitneyU(bins(a), bins(b));
    expect(test.u).toBeCloseTo(pairs, 6);
    expect(test.z!).toBeLessThan(-3);
    expect(test.pValue!).toBeLessThan(0.01);
    expect(mannWhitneyU(bins(a), bins(a)).pValue).toBeCloseTo(1, 6);
  });

  it('two-proportion z-test matches a hand computation and refuses the normal approximation on tiny counts', () => {
    // 60/1000 vs 40/1000: pooled 0.05, se = sqrt(0.05 * 0.95 * 0.002) = 0.009747, z = 2.052.
    const test = twoProportionZTest(60, 1000, 40, 1000);
    expect(test.z!).toBeCloseTo(2.052, 3);
    expect(test.pValue!).toBeCloseTo(0.0402, 3);
    expect(test.valid).toBe(true);
    expect(twoProportionZTest(1, 20, 0, 20).valid).toBe(false);
  });
});

describe('GET /v1/compare', { timeout: 180_000 }, () => {
  it('says a slower, less confident, failing canary is worse, with numbers equal to the events sent, before and after roll-up', async () => {
    const { app, storage } = start();
    const events = fleet(WORSE_CANARY);
    await post(app, events);
    const before = (await app.inject({ url: compareUrl(), headers: admin })).json();
    while (!(await storage.rollUp({ now: Date.now() + 10 * 60_000 })).idle);
    const after = (await app.inject({ url: compareUrl(), headers: admin })).json();
    // Folded or not, the same numbers (a mean may differ in its last bits: the sum runs in another order).
    const rounded = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && !Number.isInteger(item) ? Number(item.toPrecision(10)) : item)));
    expect(rounded(after)).toEqual(rounded(before));

    expect(after.verdict).toBe('worse');
    for (const version of ['1.0.0', '1.1.0']) {
      const mine = events.filter((event) => event.model?.version === version);
      const inferences = mine.filter((event) => event.type === 'inference');
      const side = version === '1.1.0' ? after.candidate : after.baseline;
      expect(side.inferences).toBe(inferences.length);
      expect(side.errors).toBe(mine.filter((event) => event.type === 'error').length);
      expect(side.fallbacks).toBe(mine.filter((event) => event.type === 'fallback').length);
      expect(side.p95).toBe(nearestRank(inferences.map((event) => (event.type === 'inference' ? event.totalMs : 0)), 95));
      const scores = inferences.map((event) => (event.type === 'inference' ? event.top1Probability! : 0));
      expect(side.confidence.count).toBe(scores.length);
      expect(side.confidence.mean).toBeCloseTo(scores.reduce((sum, value) => sum + value, 0) / scores.length, 9);
      const feedback = mine.filter((event) => event.type === 'feedback');
      expect(side.feedback).toEqual({ count: feedback.length, correct: feedback.filter((event) => event.type === 'feedback' && event.correct).length, accuracy: expect.any(Number) });
    }
    expect(after.checks.errorRate).toMatchObject({ outcome: 'worse', significant: true, significance: { test: 'two-proportion z-test' } });
    expect(after.checks.p95LatencyPct).toMatchObject({ outcome: 'worse', significant: true, significance: { test: 'Mann-Whitney U' } });
    expect(after.checks.confidence).toMatchObject({ outcome: 'worse', significant: true });
    expect(after.checks.accuracy.outcome).toBe('worse');
    expect(after.checks.fallbackRate.outcome).toBe('same');
    expect(after.reasons.join(' ')).toContain('p95 latency');
  });

  it('says an equal canary is the same, and a thin one is not enough data', async () => {
    const { app } = start();
    await post(app, fleet(EQUAL_CANARY));
    const same = (await app.inject({ url: compareUrl(), headers: admin })).json();
    expect(same.verdict).toBe('same');
    expect(Object.values(same.checks).map((check) => (check as { outcome: string }).outcome)).toEqual(['same', 'same', 'same', 'same', 'same']);
    const strict = (await app.inject({ url: compareUrl('&minEvents=100000'), headers: admin })).json();
    expect(strict.verdict).toBe('not enough data');
    expect(strict.reasons[0]).toContain('needs 100000');
  });

  it('needs the admin token and names a wrong parameter', async () => {
    const { app } = start();
    expect((await app.inject({ url: compareUrl() })).statusCode).toBe(401);
    const missing = await app.inject({ url: '/v1/compare?model=m&candidate=2', headers: admin });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'collector/invalid-query', details: { parameter: 'baseline' } });
    expect((await app.inject({ url: `${compareUrl()}&maxP95IncreasePct=-1`, headers: admin })).json().details.parameter).toBe('maxP95IncreasePct');
  });
});

describe('log records', { timeout: 180_000 }, () => {
  const log = (overrides: Record<string, unknown>): TelemetryEvent =>
    ({ eventId: randomUUID(), type: 'log', ts: Date.now(), sessionId: 'session-a', libraryVersion: '0.1.0', level: 'warn', code: 'engine/backend-unavailable', message: 'fell back', ...overrides }) as TelemetryEvent;

  it('stores them and lists them newest first, filtered by device, model, level and code; a hostile message is kept verbatim as data', async () => {
    const { app } = start();
    const now = Date.now();
    const hostile = '<img src=x onerror="window.pwned=1"> \'; DROP TABLE events;--';
    await post(app, [
      log({ ts: now - 3000, deviceId: 'kiosk-1', model: { id: 'fashion-mnist', version: '1.1.0', variant: 'fp32' }, backend: 'ort-webgpu' }),
      log({ ts: now - 2000, deviceId: 'kiosk-2', level: 'info', code: 'app/started', message: hostile }),
      log({ ts: now - 1000, level: 'error', code: 'engine/backend-failed', sessionId: 'session-b' }),
    ]);
    const list = async (query: string) => (await app.inject({ url: `/v1/logs?${query}`, headers: admin })).json().logs as { device: string; code: string; message: string; level: string; model: string | null }[];
    expect((await list('')).map((entry) => entry.code)).toEqual(['engine/backend-failed', 'app/started', 'engine/backend-unavailable']);
    expect((await list('device=kiosk-1')).map((entry) => [entry.device, entry.model, entry.level])).toEqual([['kiosk-1', 'fashion-mnist', 'warn']]);
    expect((await list('device=session-b')).map((entry) => entry.code)).toEqual(['engine/backend-failed']);
    expect((await list('model=fashion-mnist')).length).toBe(1);
    expect((await list('level=warn')).map((entry) => entry.level)).toEqual(['error', 'warn']);
    expect((await list('code=app/started'))[0]!.message).toBe(hostile);
    expect((await list('limit=1')).length).toBe(1);
    expect((await app.inject({ url: '/v1/logs?level=loud', headers: admin })).statusCode).toBe(400);
    // Logs are not inference traffic: stats do not count them.
    expect((await app.inject({ url: '/v1/stats?from=0', headers: admin })).json().groups).toEqual([]);
  });

  it('refuses a log record over 500 characters, with control characters or a URL query, at the schema', async () => {
    const { app } = start();
    for (const message of ['x'.repeat(501), 'line\nbreak', 'see https://example.com/a?token=secret']) {
      const response = await app.inject({ method: 'POST', url: '/v1/events', headers: { 'x-edgeinfer-key': KEY }, payload: { events: [log({ message })] } });
      expect(response.statusCode).toBe(400);
    }
  });

  it('the client cleans, caps and samples log records, and sends feedback', async () => {
    const { app } = start();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const telemetry = createTelemetry({ endpoint: url, appKey: KEY, storage: createMemoryEventStore(), lifecycle: false, maxLogsPerMinute: 3, logSampleRate: 0.5, random: mulberry32(3), deviceId: 'kiosk-9' });
    const model = { id: 'fashion-mnist', version: '1.0.0', variant: 'fp32' };
    telemetry.log({ level: 'warn', code: 'engine/backend-unavailable', message: `bad\u0000\nline https://cdn.example.com/m.onnx?sig=abc ${'y'.repeat(600)}`, model, backend: 'ort-webgpu' });
    for (let index = 0; index < 10; index += 1) telemetry.log({ level: 'info', code: 'app/tick', message: `tick ${index}` });
    telemetry.feedback({ model, correct: true });
    telemetry.feedback({ model, correct: false, top1Class: 3 });
    await telemetry.flush();
    const stats = telemetry.stats();
    expect(stats.sent).toBe(5);
    expect(stats.logsDropped).toBe(10 - 2);
    const logs = (await app.inject({ url: '/v1/logs', headers: admin })).json().logs as { message: string; device: string; code: string }[];
    expect(logs).toHaveLength(3);
    const warn = logs.find((entry) => entry.code === 'engine/backend-unavailable')!;
    expect(warn.device).toBe('kiosk-9');
    expect(warn.message.startsWith('bad line https://cdn.example.com/m.onnx y')).toBe(true);
    expect(warn.message).toHaveLength(500);
    await telemetry.close();
  });
});

describe('ts window policy with the real client', { timeout: 180_000 }, () => {
  it('a device whose clock is 10 minutes fast for some events loses only those: the rest are stored and nothing good is dropped', async () => {
    const { app } = start();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const errors: string[] = [];
    const telemetry = createTelemetry({ endpoint: url, appKey: KEY, storage: createMemoryEventStore(), lifecycle: false, batchSize: 100, onError: (error) => errors.push(error.message) });
    const inference = { type: 'inference', model: { id: 'm', version: '1', variant: 'v' }, backend: 'ort-wasm', queueMs: 0, runMs: 1, totalMs: 1 } as const;
    for (let index = 0; index < 20; index += 1) telemetry.record({ ...inference, ...(index % 4 === 0 ? { ts: Date.now() + 10 * 60_000 } : {}) });
    await telemetry.flush();
    expect(telemetry.stats()).toMatchObject({ sent: 15, dropped: 5, queued: 0 });
    expect(errors.join(' ')).toContain('refused 5 of 20');
    const stats = (await app.inject({ url: '/v1/stats?from=0', headers: admin })).json();
    expect(stats.groups[0].inferences).toBe(15);
    await telemetry.close();
  });
});

const MANIFEST = (channels: Record<string, unknown>, revoked?: string[]) => ({
  schemaVersion: 1,
  models: {
    'fashion-mnist': {
      task: 'image-classification',
      channels,
      ...(revoked ? { revoked } : {}),
      versions: Object.fromEntries(
        ['1.0.0', '1.1.0'].map((version) => [
          version,
          {
            inputs: [{ name: 'input', dtype: 'float32', shape: [1, 1, 28, 28] }],
            outputs: [{ name: 'output', dtype: 'float32', shape: [1, 10] }],
            variants: { fp32: { format: 'onnx', dtype: 'float32', files: [{ path: `fashion/${version}/model.onnx`, size: 10, sha256: '0'.repeat(64) }] } },
          },
        ]),
      ),
    },
  },
});

/** A webhook receiver: a real HTTP server that records what it is sent. */
async function webhookReceiver(): Promise<{ url: string; received: Record<string, unknown>[] }> {
  const received: Record<string, unknown>[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

describe('manifest serving and the canary guard', { timeout: 180_000 }, () => {
  it('serves the manifest file CORS-readable with an ETag, re-reads it after an atomic replace, and keeps the last good one over a broken file', async () => {
    const dir = tempDir();
    const path = join(dir, 'manifest.json');
    writeFileSync(path, JSON.stringify(MANIFEST({ stable: '1.0.0', canary: { version: '1.1.0', percent: 10 } })));
    const { app } = start({ manifest: { path, baseUrl: 'https://cdn.example.com/models/' } });
    const first = await app.inject({ url: '/v1/manifest.json', headers: { origin: 'https://shop.example' } });
    expect(first.statusCode).toBe(200);
    expect(first.headers['access-control-allow-origin']).toBe('*');
    expect(first.headers['cache-control']).toBe('no-cache');
    expect(first.json().models['fashion-mnist'].versions['1.0.0'].variants.fp32.files[0].path).toBe('https://cdn.example.com/models/fashion/1.0.0/model.onnx');
    expect((await app.inject({ url: '/v1/manifest.json', headers: { 'if-none-match': String(first.headers.etag) } })).statusCode).toBe(304);

    writeFileSync(`${path}.tmp`, JSON.stringify(MANIFEST({ stable: '1.1.0' })));
    renameSync(`${path}.tmp`, path);
    expect((await app.inject({ url: '/v1/manifest.json' })).json().models['fashion-mnist'].channels).toEqual({ stable: '1.1.0' });
    writeFileSync(path, '{"schemaVersion": 1, "models": {');
    expect((await app.inject({ url: '/v1/manifest.json' })).json().models['fashion-mnist'].channels).toEqual({ stable: '1.1.0' });
  });

  it('answers 503 collector/manifest when the file was never valid, and 404 when no manifest is configured', async () => {
    const dir = tempDir();
    const path = join(dir, 'manifest.json');
    writeFileSync(path, JSON.stringify({ schemaVersion: 1, models: { m: { task: 'x' } } }));
    const { app } = start({ manifest: { path } });
    const answer = await app.inject({ url: '/v1/manifest.json' });
    expect(answer.statusCode).toBe(503);
    expect(answer.json().code).toBe('collector/manifest');
    const { app: plain } = start();
    expect((await plain.inject({ url: '/v1/manifest.json' })).statusCode).toBe(404);
  });

  it('revokes a worse canary in the manifest file atomically, audits why with the numbers, and tells the webhook; an equal canary stays', async () => {
    const hook = await webhookReceiver();
    for (const [canary, expected] of [
      [WORSE_CANARY, 'revoked'],
      [EQUAL_CANARY, 'none'],
    ] as const) {
      const dir = tempDir();
      const path = join(dir, 'manifest.json');
      writeFileSync(path, JSON.stringify(MANIFEST({ stable: '1.0.0', canary: { version: '1.1.0', percent: 10 } })));
      const guard = parseGuardConfig({ models: { 'fashion-mnist': { maxErrorRateIncrease: 0.02, maxP95IncreasePct: 25, maxConfidenceDrop: 0.1, minEvents: 500 } } });
      const { app } = start({ manifest: { path }, guard, webhookUrl: hook.url });
      await post(app, fleet(canary));
      const run = (await app.inject({ method: 'POST', url: '/v1/guard/run', headers: admin })).json();
      expect(run.decisions[0]).toMatchObject({ model: 'fashion-mnist', candidate: '1.1.0', baseline: '1.0.0', action: expected, verdict: expected === 'revoked' ? 'worse' : 'same' });
      const served = (await app.inject({ url: '/v1/manifest.json' })).json().models['fashion-mnist'];
      const audit = (await app.inject({ url: '/v1/audit', headers: admin })).json().entries;
      if (expected === 'revoked') {
        expect(served.channels).toEqual({ stable: '1.0.0' });
        expect(served.revoked).toEqual(['1.1.0']);
        expect(JSON.parse(readFileSync(path, 'utf8')).models['fashion-mnist'].revoked).toEqual(['1.1.0']);
        expect(audit).toHaveLength(1);
        expect(audit[0]).toMatchObject({ actor: 'canary-guard', action: 'revoke-canary', model: 'fashion-mnist', version: '1.1.0', dryRun: false, detail: { verdict: 'worse', before: { channels: { canary: { version: '1.1.0' } } }, after: { revoked: ['1.1.0'] } } });
        expect(audit[0].detail.candidate.p95).toBeGreaterThan(audit[0].detail.baseline.p95);
        expect(hook.received.find((event) => event['event'] === 'canary-revoked')).toMatchObject({ model: 'fashion-mnist', version: '1.1.0', stable: '1.0.0' });
        // Nothing left to guard: the next run finds no canary and changes nothing.
        expect((await app.inject({ method: 'POST', url: '/v1/guard/run', headers: admin })).json().decisions[0].action).toBe('no-canary');
      } else {
        expect(served.channels).toEqual({ stable: '1.0.0', canary: { version: '1.1.0', percent: 10 } });
        expect(audit).toEqual([]);
      }
      const metrics = (await app.inject({ url: '/metrics' })).body;
      expect(metrics).toContain(`edgeinfer_guard_evaluations_total{model="fashion-mnist",verdict="${expected === 'revoked' ? 'worse' : 'same'}"} 1`);
    }
  });

  it('in dry run reports what it would revoke once, and leaves the manifest alone', async () => {
    const dir = tempDir();
    const path = join(dir, 'manifest.json');
    const text = JSON.stringify(MANIFEST({ stable: '1.0.0', canary: { version: '1.1.0', percent: 10 } }));
    writeFileSync(path, text);
    const guard = parseGuardConfig({ dryRun: true, models: { 'fashion-mnist': { minEvents: 500 } } });
    const { app } = start({ manifest: { path }, guard });
    await post(app, fleet(WORSE_CANARY));
    for (let run = 0; run < 2; run += 1) expect((await app.inject({ method: 'POST', url: '/v1/guard/run', headers: admin })).json().decisions[0].action).toBe('would-revoke');
    expect(readFileSync(path, 'utf8')).toBe(text);
    const audit = (await app.inject({ url: '/v1/audit', headers: admin })).json().entries;
    expect(audit.map((entry: { action: string; dryRun: boolean }) => [entry.action, entry.dryRun])).toEqual([['would-revoke-canary', true]]);
    expect((await app.inject({ url: '/v1/guard', headers: admin })).json()).toMatchObject({ enabled: true, dryRun: true, decisions: [{ action: 'would-revoke' }] });
  });

  it('refuses a guard without a manifest and a guard file with unknown fields', () => {
    expect(() => parseGuardConfig({ models: { m: { maxP95Increase: 5 } } })).toThrow(/unknown field/);
    expect(() => parseGuardConfig({ models: {} })).toThrow(/at least one model/);
    expect(() => start({ guard: parseGuardConfig({ models: { m: {} } }) })).toThrow(/--manifest/);
  });
});

describe('devices silent past their heartbeat interval', { timeout: 180_000 }, () => {
  it('counts them in /metrics and tells the webhook when one goes silent', async () => {
    const hook = await webhookReceiver();
    const { app } = start({ webhookUrl: hook.url, heartbeatCheckMs: 100 });
    await app.ready();
    // kiosk-1 beats every 1 s (silent after 2.5 s); kiosk-2 has no interval (the 2 minute default).
    await post(app, [heartbeatEvent({ deviceId: 'kiosk-1', intervalS: 1 }), heartbeatEvent({ deviceId: 'kiosk-2' }), inferenceEvent()]);
    await expect.poll(async () => (await app.inject({ url: '/metrics' })).body, { timeout: 30_000 }).toContain('edgeinfer_devices_silent{app="shop"} 1');
    await expect.poll(() => hook.received.map((event) => [event['event'], event['deviceId']]), { timeout: 30_000 }).toContainEqual(['device-silent', 'kiosk-1']);
    const devices = (await app.inject({ url: '/v1/devices', headers: admin })).json().devices;
    expect(devices.map((device: { deviceId: string; alive: boolean }) => [device.deviceId, device.alive])).toEqual([
      ['kiosk-1', false],
      ['kiosk-2', true],
    ]);
  });
});
