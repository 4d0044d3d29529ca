import 'fake-indexeddb/auto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelayMs, createIndexedDbEventStore, createMemoryEventStore, createTelemetry, engineEventToTelemetry, type EventInput } from '../src/index.js';
import { MAX_REQUEST_BYTES, validateBatch, type TelemetryEvent } from '../src/schema.js';

const inference: EventInput = { type: 'inference', model: { id: 'mnist', version: '1.0.0', variant: 'int8' }, backend: 'wasm', queueMs: 1, runMs: 4, totalMs: 5 };

interface Sent {
  readonly url: string;
  readonly init: RequestInit;
  readonly events: TelemetryEvent[];
  readonly bytes: number;
}

/** A scripted collector at the edge of the world: answers each request with the next status (200 when the script runs out). */
function fakeCollector(statuses: (number | 'network-error')[] = [], headers: Record<string, string> = {}) {
  const sent: Sent[] = [];
  const seen = new Set<string>();
  const fetch = vi.fn(async (url: string | URL | Request, init?: RequestInit) => {
    const body = String(init?.body);
    const status = statuses.shift() ?? 200;
    if (status === 'network-error') throw new TypeError('Failed to fetch');
    const events = (JSON.parse(body) as { events: TelemetryEvent[] }).events;
    expect(validateBatch({ events }).ok).toBe(true);
    sent.push({ url: String(url), init: init!, events, bytes: new TextEncoder().encode(body).length });
    let duplicates = 0;
    if (status === 200) {
      for (const event of events) {
        if (seen.has(event.eventId)) duplicates += 1;
        else seen.add(event.eventId);
      }
    }
    return new Response(JSON.stringify(status === 200 ? { accepted: events.length - duplicates, duplicates } : { code: 'x', message: 'no' }), { status, headers });
  });
  return { fetch: fetch as unknown as typeof globalThis.fetch, sent, seen };
}

beforeEach(() => vi.useFakeTimers({ now: Date.UTC(2025, 0, 1) }));
afterEach(() => vi.useRealTimers());

describe('telemetry client', () => {
  it('sends a batch when batchSize events are recorded, with keepalive and the key in the query', async () => {
    const collector = fakeCollector();
    const telemetry = createTelemetry({ endpoint: 'https://collector.example/', appKey: 'k 1', batchSize: 3, flushIntervalMs: 60_000, fetch: collector.fetch, storage: createMemoryEventStore() });
    for (let index = 0; index < 3; index += 1) telemetry.record(inference);
    expect(collector.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(collector.sent).toHaveLength(1);
    expect(collector.sent[0]!.url).toBe('https://collector.example/v1/events?key=k+1');
    expect(collector.sent[0]!.init).toMatchObject({ method: 'POST', keepalive: true, credentials: 'omit' });
    expect(collector.sent[0]!.events.map((event) => event.type)).toEqual(['inference', 'inference', 'inference']);
    expect(new Set(collector.sent[0]!.events.map((event) => event.eventId)).size).toBe(3);
    expect(telemetry.stats()).toMatchObject({ sent: 3, queued: 0, dropped: 0 });
  });

  it('sends a partial batch after flushIntervalMs', async () => {
    const collector = fakeCollector();
    const telemetry = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', batchSize: 50, flushIntervalMs: 5000, fetch: collector.fetch, storage: createMemoryEventStore() });
    telemetry.record(inference);
    await vi.advanceTimersByTimeAsync(4999);
    expect(collector.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(collector.sent).toHaveLength(1);
  });

  it('splits large queues into requests within the 64 KiB keepalive budget', async () => {
    const collector = fakeCollector();
    const telemetry = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', batchSize: 500, flushIntervalMs: 60_000, fetch: collector.fetch, storage: createMemoryEventStore() });
    const longModel = { id: 'm'.repeat(128), version: 'v'.repeat(128), variant: 'x'.repeat(128) };
    for (let index = 0; index < 400; index += 1) telemetry.record({ ...inference, model: longModel });
    await telemetry.flush();
    expect(collector.sent.length).toBeGreaterThan(1);
    for (const request of collector.sent) expect(request.bytes).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(collector.sent.reduce((sum, request) => sum + request.events.length, 0)).toBe(400);
  });

  it('keeps the sampled share of inference events and every other event', async () => {
    const collector = fakeCollector();
    let draw = 0;
    const telemetry = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', sampleRate: 0.25, random: () => (draw++ % 4) / 4, fetch: collector.fetch, storage: createMemoryEventStore() });
    for (let index = 0; index < 100; index += 1) telemetry.record(inference);
    telemetry.record({ type: 'error', code: 'engine/timeout' });
    await telemetry.flush();
    const events = collector.sent.flatMap((request) => request.events);
    expect(events.filter((event) => event.type === 'inference')).toHaveLength(25);
    expect(events.every((event) => event.type !== 'inference' || event.sampleRate === 0.25)).toBe(true);
    expect(events.filter((event) => event.type === 'error')).toHaveLength(1);
    expect(telemetry.stats().sampledOut).toBe(75);
  });

  it('retries failures with growing, jittered back-off and never double counts', async () => {
    const collector = fakeCollector(['network-error', 503, 'network-error']);
    const telemetry = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', retryBaseMs: 1000, random: () => 0.5, fetch: collector.fetch, storage: createMemoryEventStore() });
    for (let index = 0; index < 5; index += 1) telemetry.record(inference);
    await telemetry.flush();
    expect(collector.fetch).toHaveBeenCalledTimes(1);
    // Equal jitter with random()=0.5: 0.75 of the window, windows 1 s, 2 s, 4 s.
    await vi.advanceTimersByTimeAsync(749);
    expect(collector.fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(collector.fetch).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1500);
    expect(collector.fetch).toHaveBeenCalledTimes(3);
    await vi.advanceTimersByTimeAsync(3000);
    expect(collector.fetch).toHaveBeenCalledTimes(4);
    expect(collector.seen.size).toBe(5);
    expect(telemetry.stats()).toMatchObject({ sent: 5, queued: 0, failedAttempts: 3, dropped: 0 });
  });

  it('waits at least as long as Retry-After on 429', async () => {
    const collector = fakeCollector([429], { 'retry-after': '30' });
    const telemetry = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', fetch: collector.fetch, storage: createMemoryEventStore() });
    telemetry.record(inference);
    await telemetry.flush();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(collector.fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(collector.fetch).toHaveBeenCalledTimes(2);
    expect(telemetry.stats().sent).toBe(1);
  });

  it('keeps at most maxQueue events while the collector is down, dropping the oldest and counting them', async () => {
    const collector = fakeCollector(Array.from({ length: 100 }, () => 'network-error' as const));
    const telemetry = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', maxQueue: 10, batchSize: 100, fetch: collector.fetch, storage: createMemoryEventStore() });
    for (let index = 0; index < 25; index += 1) telemetry.record({ ...inference, runMs: index, totalMs: index });
    expect(telemetry.stats()).toMatchObject({ queued: 10, dropped: 15 });
    collector.fetch = undefined as never;
    const healthy = fakeCollector();
    const survivor = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', maxQueue: 10, fetch: healthy.fetch, storage: createMemoryEventStore() });
    for (let index = 0; index < 25; index += 1) survivor.record({ ...inference, runMs: index, totalMs: index });
    await survivor.flush();
    expect(healthy.sent.flatMap((request) => request.events).map((event) => (event.type === 'inference' ? event.runMs : -1))).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
  });

  it('drops a batch the collector rejects as malformed and reports it', async () => {
    const collector = fakeCollector([400]);
    const errors: string[] = [];
    const telemetry = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', fetch: collector.fetch, storage: createMemoryEventStore(), onError: (error) => errors.push(error.code) });
    telemetry.record(inference);
    await telemetry.flush();
    expect(telemetry.stats()).toMatchObject({ dropped: 1, queued: 0 });
    expect(errors).toEqual(['telemetry/rejected']);
  });

  it('refuses events that break the schema without throwing on the caller, and sends the valid ones', async () => {
    const errors: string[] = [];
    const collector = fakeCollector();
    const telemetry = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', fetch: collector.fetch, storage: createMemoryEventStore(), onError: (error) => errors.push(error.code) });
    expect(() => telemetry.record({ ...inference, totalMs: Number.NaN })).not.toThrow();
    telemetry.record(inference);
    await telemetry.flush();
    expect(telemetry.stats()).toMatchObject({ invalid: 1, queued: 0, sent: 1 });
    expect(errors).toEqual(['telemetry/invalid-event']);
    expect(collector.sent.flatMap((request) => request.events.map((event) => event.type))).toEqual(['inference']);
  });

  it('keeps undelivered events in IndexedDB and sends them from the next page, once', async () => {
    // fake-indexeddb completes transactions on real timers.
    vi.useRealTimers();
    const storage = createIndexedDbEventStore(`test-${Math.random()}`);
    const down = fakeCollector(Array.from({ length: 10 }, () => 'network-error' as const));
    const first = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', fetch: down.fetch, storage, retryBaseMs: 600_000 });
    for (let index = 0; index < 7; index += 1) first.record(inference);
    await first.flush();
    await vi.waitFor(async () => expect(await storage.getAll()).toHaveLength(7));
    await first.close();

    const up = fakeCollector();
    const next = createTelemetry({ endpoint: 'https://c.example', appKey: 'k', fetch: up.fetch, storage });
    await next.flush();
    expect(up.seen.size).toBe(7);
    expect(up.sent.flatMap((request) => request.events).length).toBe(7);
    await vi.waitFor(async () => expect(await storage.getAll()).toHaveLength(0));
    await next.close();
  });

  it('uses exponential back-off capped at maxMs', () => {
    expect([0, 1, 2, 3, 10].map((attempt) => backoffDelayMs(attempt, { baseMs: 100, maxMs: 1000, random: () => 1 }))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelayMs(3, { baseMs: 100, maxMs: 1000, random: () => 0 })).toBe(400);
  });

  it('maps engine events to telemetry events without input data', () => {
    const info = { id: 'mnist', version: '1.0.0', variant: 'int8', backend: 'wasm', fromCache: true, sizeBytes: 100, timings: { downloadMs: 0, compileMs: 3, warmupMs: 1, totalMs: 5 } };
    expect(engineEventToTelemetry({ type: 'run', info, queueMs: 1, runMs: 2, totalMs: 3, backend: 'wasm' })).toEqual({ type: 'inference', model: { id: 'mnist', version: '1.0.0', variant: 'int8' }, backend: 'wasm', queueMs: 1, runMs: 2, totalMs: 3 });
    expect(engineEventToTelemetry({ type: 'load', info })).toMatchObject({ type: 'load', cacheHit: true, bytes: 100, compileMs: 3 });
    expect(engineEventToTelemetry({ type: 'fallback', info, fallback: { backend: 'webgpu', code: 'engine/backend-failed' } })).toMatchObject({ from: 'webgpu', to: 'wasm' });
    expect(engineEventToTelemetry({ type: 'error', code: 'engine/timeout' })).toEqual({ type: 'error', code: 'engine/timeout' });
    expect(engineEventToTelemetry({ type: 'restart' })).toBeNull();
  });
});
