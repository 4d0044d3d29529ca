import { randomBytes } from 'node:crypto';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';

export const BENCH_APP = 'bench';
export const BATCH_EVENTS = 50;
export const BENCH_INGEST_KEY = 'bench-ingest-key';
export const BENCH_ADMIN_TOKEN = 'bench-admin-token';

const MODELS = [
  { id: 'fashion-mnist', version: '1.0.0', variant: 'int8' },
  { id: 'fashion-mnist', version: '1.1.0-canary', variant: 'int8' },
  { id: 'fashion-mnist', version: '1.0.0', variant: 'float32' },
  { id: 'mobilenetv2', version: '2.0.0', variant: 'float32' },
];
const BACKENDS = ['wasm', 'webgpu', 'webgl'];

/** A seeded generator, so two runs store the same shape of data. */
export function seededRandom(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

/**
 * Ids from a counter under a random per-run prefix: valid UUIDs (the schema checks the format),
 * unique across every request of a run, and ~50x cheaper to make than randomUUID() per event, so
 * the load generator spends its core on sending, not on ids.
 */
export function createIdSource(): () => string {
  const prefix = randomBytes(6).toString('hex');
  let counter = 0;
  return () => {
    counter += 1;
    const hex = counter.toString(16).padStart(12, '0');
    return `${prefix.slice(0, 8)}-${prefix.slice(8, 12)}-4000-8000-${hex}`;
  };
}

/** One event as the client would send it: mostly inferences (with their top-1 probability), some load, error, fallback and log events. */
export function benchEvent(random: () => number, eventId: string, ts: number): TelemetryEvent {
  const model = MODELS[Math.floor(random() * MODELS.length)]!;
  const backend = BACKENDS[Math.floor(random() * BACKENDS.length)]!;
  const common = { eventId, ts, sessionId: 'bench-session', libraryVersion: '0.1.0', model, backend };
  const roll = random();
  if (roll < 0.9) {
    const runMs = Math.round((0.2 + random() * random() * 40) * 1000) / 1000;
    const top1Probability = Math.round((0.35 + 0.65 * Math.sqrt(random())) * 10_000) / 10_000;
    return { ...common, type: 'inference', queueMs: 0.1, runMs, totalMs: runMs + 0.1, sampleRate: 1, top1Probability, top1Class: Math.floor(random() * 10) } as TelemetryEvent;
  }
  if (roll < 0.95) return { ...common, type: 'load', downloadMs: 120, compileMs: 80, warmupMs: 30, totalMs: 230 + Math.round(random() * 500), cacheHit: random() < 0.5, bytes: 1_000_000 } as TelemetryEvent;
  if (roll < 0.98) return { ...common, type: 'error', code: 'engine/backend-failed' } as TelemetryEvent;
  if (roll < 0.99) return { ...common, type: 'fallback', from: 'webgpu', to: 'wasm', code: 'engine/backend-unavailable' } as TelemetryEvent;
  // One event in a hundred is a log record (a fallback's warn record, as engineEventToLog makes it), from 200 devices.
  return { ...common, type: 'log', level: 'warn', code: 'engine/backend-unavailable', message: `${model.id} fell back from webgpu to ${backend} (engine/backend-unavailable)`, deviceId: `kiosk-${ts % 200}` } as TelemetryEvent;
}

const ID_MARK = '00000000-0000-4000-8000-000000000000';

/**
 * Request bodies of BATCH_EVENTS events with fresh ids: the JSON is built once and only the ids are
 * spliced in per request, so every request stores 50 new rows.
 */
export function createBatchBodies(seed: number): () => string {
  const random = seededRandom(seed);
  const ts = Date.now();
  const template = JSON.stringify({ events: Array.from({ length: BATCH_EVENTS }, () => benchEvent(random, ID_MARK, ts)) });
  const pieces = template.split(ID_MARK);
  const nextId = createIdSource();
  return () => {
    let body = pieces[0]!;
    for (let index = 1; index < pieces.length; index += 1) body += nextId() + pieces[index]!;
    return body;
  };
}
