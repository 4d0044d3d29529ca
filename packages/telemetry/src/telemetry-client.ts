import { EdgeInferError } from '@edgeinfer/core';
import { backoffDelayMs, retryAfterMs } from './backoff.js';
import { createIndexedDbEventStore, createMemoryEventStore, type EventStore } from './event-store.js';
import { MAX_LOG_MESSAGE, MAX_REQUEST_BYTES, validateEvent, type EventInput, type LogLevel, type ModelRef, type TelemetryEvent } from './schema.js';

export const LIBRARY_VERSION = '0.1.0';

export interface TelemetryOptions {
  /** The collector's base URL, e.g. `https://telemetry.example.com`; events go to `<endpoint>/v1/events`. */
  readonly endpoint: string;
  /** The app's ingest key. It is not a secret (it ships in page code); it names the app and lets the collector rate-limit it. */
  readonly appKey: string;
  /** Fraction of inference events kept, 0..1. Other event types are always kept. Default 1. */
  readonly sampleRate?: number;
  /** Events per request (also bounded by the 64 KiB request budget). Default 50. */
  readonly batchSize?: number;
  readonly flushIntervalMs?: number;
  /** Most events held while the collector is unreachable; beyond it the oldest are dropped and counted. Default 1000. */
  readonly maxQueue?: number;
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  readonly fetch?: typeof fetch;
  /** Where undelivered events wait: IndexedDB by default where it exists. */
  readonly storage?: EventStore;
  /** Listen for pagehide / visibilitychange / online. Default true in a page. */
  readonly lifecycle?: boolean;
  readonly random?: () => number;
  /** Told about events and batches that were dropped, so nothing is lost silently. */
  readonly onError?: (error: EdgeInferError) => void;
  /** Fraction of debug and info log records kept, 0..1 (warn and error are always kept, within the cap). Default 1. */
  readonly logSampleRate?: number;
  /** Most log records a page sends per minute; the rest are counted in stats().logsDropped. Default 30. */
  readonly maxLogsPerMinute?: number;
  /** Names this device in log records (a kiosk's name, not a person's); heartbeats carry their own. */
  readonly deviceId?: string;
}

export interface FeedbackInput {
  /** The model that gave the result (model.info has these fields). */
  readonly model: ModelRef;
  readonly correct: boolean;
  readonly top1Class?: number;
}

export interface LogInput {
  readonly level: LogLevel;
  /** A stable code, e.g. an EdgeInferError code. */
  readonly code: string;
  /** For the operator; cut to 500 characters, control characters and URL query strings removed. Never put user data here. */
  readonly message: string;
  readonly model?: ModelRef;
  readonly backend?: string;
}

export interface TelemetryStats {
  /** Events waiting to be delivered (in memory, and in IndexedDB when persisted). */
  readonly queued: number;
  /** Events the collector acknowledged, plus events handed to sendBeacon (which has no acknowledgement). */
  readonly sent: number;
  /** Events lost: the queue overflowed, or the collector rejected them as malformed. */
  readonly dropped: number;
  readonly duplicates: number;
  readonly sampledOut: number;
  readonly invalid: number;
  readonly failedAttempts: number;
  /** Log records not sent: sampled out or over maxLogsPerMinute. */
  readonly logsDropped: number;
}

export interface Telemetry {
  /**
   * Synchronous and cheap: no await, no I/O and no schema check on the caller's path. An event that
   * breaks the schema is dropped, counted (stats().invalid) and reported to onError at the next flush.
   */
  record(event: EventInput): void;
  /** The user said whether a result was right: the collector estimates accuracy per version from it. */
  feedback(input: FeedbackInput): void;
  /** A structured log record for the operator (bounded, sampled, rate-capped). */
  log(input: LogInput): void;
  flush(): Promise<void>;
  close(): Promise<void>;
  stats(): TelemetryStats;
}

type SendOutcome = 'delivered' | 'dropped' | 'retry';

const ENVELOPE_BYTES = '{"events":[]}'.length;
const encoder = new TextEncoder();

function randomUuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // crypto.randomUUID exists only in secure contexts; a kiosk on plain http on a LAN has none.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// eslint-disable-next-line no-control-regex -- control characters are what is removed
const LOG_CONTROL_CHARS = /[\u0000-\u001f\u007f]+/g;
const URL_QUERY = /([a-z][a-z0-9+.-]*:\/\/[^\s?#]*)[?#]\S*/gi;

/** What the schema accepts for a log message, made from any string: no control characters, no URL queries (tokens live there), bounded. */
function cleanLogMessage(message: string): string {
  const clean = message.replace(LOG_CONTROL_CHARS, ' ').replace(URL_QUERY, '$1').trim();
  return (clean === '' ? '(empty)' : clean).slice(0, MAX_LOG_MESSAGE);
}

function defaultStore(): EventStore {
  return typeof indexedDB === 'undefined' ? createMemoryEventStore() : createIndexedDbEventStore();
}

function isOffline(): boolean {
  return typeof navigator !== 'undefined' && navigator.onLine === false;
}

export function createTelemetry(options: TelemetryOptions): Telemetry {
  const sampleRate = options.sampleRate ?? 1;
  const batchSize = options.batchSize ?? 50;
  const flushIntervalMs = options.flushIntervalMs ?? 10_000;
  const maxQueue = options.maxQueue ?? 1000;
  const random = options.random ?? Math.random;
  const store = options.storage ?? defaultStore();
  const sessionId = randomUuid();
  const base = options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`;
  // The key travels in the query on every request, not only for beacons: text/plain with no custom
  // header is a CORS "simple" request, so there is no preflight, and keepalive fetches work cross-origin.
  const ingestUrl = new URL('v1/events', base);
  ingestUrl.searchParams.set('key', options.appKey);
  const url = ingestUrl.toString();

  const queue: TelemetryEvent[] = [];
  const sizes = new WeakMap<TelemetryEvent, number>();
  const inFlight = new Set<string>();
  const persisted = new Set<string>();
  const counters = { sent: 0, dropped: 0, duplicates: 0, sampledOut: 0, invalid: 0, failedAttempts: 0, logsDropped: 0 };
  const logSampleRate = options.logSampleRate ?? 1;
  const maxLogsPerMinute = options.maxLogsPerMinute ?? 30;
  let logWindowStart = 0;
  let logsInWindow = 0;
  let failures = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerDueAt = Infinity;
  let draining: Promise<void> | undefined;
  let persistScheduled = false;
  let closed = false;
  // IndexedDB operations run one after another so a delete never overtakes the put it undoes.
  let storeChain: Promise<void> = Promise.resolve();

  const report = (error: EdgeInferError) => options.onError?.(error);
  const runStoreOp = (operation: () => Promise<void>) => {
    storeChain = storeChain.then(operation).catch((cause: unknown) => {
      report(new EdgeInferError('telemetry/rejected', 'Could not keep undelivered events in IndexedDB; they stay in memory only.', { cause }));
    });
    return storeChain;
  };

  const sizeOf = (event: TelemetryEvent): number => {
    let size = sizes.get(event);
    if (size === undefined) {
      size = encoder.encode(JSON.stringify(event)).length + 1;
      sizes.set(event, size);
    }
    return size;
  };

  const forget = (events: readonly TelemetryEvent[]) => {
    const ids = new Set(events.map((event) => event.eventId));
    for (let index = queue.length - 1; index >= 0; index -= 1) {
      if (ids.has(queue[index]!.eventId)) queue.splice(index, 1);
    }
    const stored = [...ids].filter((id) => persisted.delete(id));
    if (stored.length > 0) void runStoreOp(() => store.deleteMany(stored));
  };

  const enforceBound = () => {
    const overflow: TelemetryEvent[] = [];
    for (const event of queue) {
      if (queue.length - overflow.length <= maxQueue) break;
      if (!inFlight.has(event.eventId)) overflow.push(event);
    }
    if (overflow.length === 0) return;
    counters.dropped += overflow.length;
    forget(overflow);
  };

  /**
   * Events are checked against the schema here, when a batch is assembled or stored, not in
   * record(): the check costs a few microseconds, which record() would add to every inference.
   */
  const checked = new WeakSet<TelemetryEvent>();
  const dropInvalid = () => {
    const invalid: TelemetryEvent[] = [];
    for (const event of queue) {
      if (checked.has(event)) continue;
      const result = validateEvent(event);
      if (result.ok) {
        checked.add(event);
        continue;
      }
      invalid.push(event);
      report(new EdgeInferError('telemetry/invalid-event', `A ${String(event.type)} event was not recorded: ${result.issues.map((issue) => `${issue.path} ${issue.message}`).join('; ')}.`, { details: { issues: result.issues } }));
    }
    if (invalid.length === 0) return;
    counters.invalid += invalid.length;
    forget(invalid);
  };

  const persistPending = () => {
    dropInvalid();
    const fresh = queue.filter((event) => !persisted.has(event.eventId));
    if (fresh.length === 0) return storeChain;
    fresh.forEach((event) => persisted.add(event.eventId));
    return runStoreOp(() => store.putMany(fresh));
  };

  const schedulePersist = () => {
    if (persistScheduled) return;
    persistScheduled = true;
    setTimeout(() => {
      persistScheduled = false;
      void persistPending();
    }, 0);
  };

  /** Arms the one flush timer; an earlier pending flush wins unless `replace` (back-off must not be cut short). */
  const schedule = (delayMs: number, { replace = false } = {}) => {
    if (closed) return;
    const dueAt = Date.now() + delayMs;
    if (timer !== undefined && timerDueAt <= dueAt && !replace) return;
    if (timer !== undefined) clearTimeout(timer);
    timerDueAt = dueAt;
    timer = setTimeout(() => {
      timer = undefined;
      timerDueAt = Infinity;
      void flush();
    }, delayMs);
  };

  /** The next batch: oldest first, at most batchSize events and within `budgetBytes`. */
  const takeBatch = (budgetBytes: number): TelemetryEvent[] => {
    dropInvalid();
    const batch: TelemetryEvent[] = [];
    let bytes = ENVELOPE_BYTES;
    for (const event of queue) {
      if (batch.length >= batchSize) break;
      if (inFlight.has(event.eventId)) continue;
      const size = sizeOf(event);
      if (bytes + size > budgetBytes) break;
      batch.push(event);
      bytes += size;
    }
    return batch;
  };

  const send = async (batch: TelemetryEvent[]): Promise<{ outcome: SendOutcome; retryAfter: number }> => {
    batch.forEach((event) => inFlight.add(event.eventId));
    try {
      const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
      const response = await doFetch(url, {
        method: 'POST',
        body: JSON.stringify({ events: batch }),
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        keepalive: true,
        credentials: 'omit',
      });
      if (response.ok) {
        const body = (await response.json().catch(() => ({}))) as { duplicates?: unknown; rejected?: { count?: unknown; code?: unknown; events?: unknown } };
        // Events the collector refused one by one (a ts outside its window): the rest were stored.
        const rejected = typeof body.rejected?.count === 'number' ? Math.min(batch.length, body.rejected.count) : 0;
        counters.sent += batch.length - rejected;
        if (rejected > 0) {
          counters.dropped += rejected;
          report(new EdgeInferError('telemetry/rejected', `The collector refused ${rejected} of ${batch.length} events (${String(body.rejected?.code ?? 'rejected')}); the others were stored. Check the device clock.`, { details: { rejected: body.rejected } }));
        }
        if (typeof body.duplicates === 'number') counters.duplicates += body.duplicates;
        return { outcome: 'delivered', retryAfter: 0 };
      }
      // A malformed or oversized batch fails the same way every time; anything else (401 while a key
      // is rotated, 429, 5xx) may succeed later.
      if (response.status === 400 || response.status === 413) {
        const text = await response.text().catch(() => '');
        report(new EdgeInferError('telemetry/rejected', `The collector rejected ${batch.length} events with HTTP ${response.status}; they were dropped.`, { details: { status: response.status, body: text.slice(0, 500) } }));
        counters.dropped += batch.length;
        return { outcome: 'dropped', retryAfter: 0 };
      }
      return { outcome: 'retry', retryAfter: retryAfterMs(response.headers.get('retry-after'), Date.now()) };
    } catch {
      return { outcome: 'retry', retryAfter: 0 };
    } finally {
      batch.forEach((event) => inFlight.delete(event.eventId));
    }
  };

  const retryLater = (retryAfter: number) => {
    failures += 1;
    counters.failedAttempts += 1;
    void persistPending();
    const delay = Math.max(retryAfter, backoffDelayMs(failures - 1, { baseMs: options.retryBaseMs ?? 1000, maxMs: options.retryMaxMs ?? 60_000, random }));
    schedule(delay, { replace: true });
  };

  const drain = async () => {
    await restored;
    for (;;) {
      const batch = takeBatch(MAX_REQUEST_BYTES);
      if (batch.length === 0) return;
      if (isOffline()) return retryLater(0);
      const { outcome, retryAfter } = await send(batch);
      if (outcome === 'retry') return retryLater(retryAfter);
      failures = 0;
      forget(batch);
    }
  };

  const flush = (): Promise<void> => {
    draining ??= drain().finally(() => {
      draining = undefined;
      if (queue.length > 0 && failures === 0) schedule(flushIntervalMs);
    });
    return draining;
  };

  /**
   * The page may be going away: only sendBeacon (or a keepalive fetch already started) outlives it.
   * The browser allows 64 KiB of those in flight in total, so what does not fit stays in IndexedDB
   * for the next page load, as does everything while offline.
   */
  const flushOnHide = () => {
    if (!isOffline() && typeof navigator !== 'undefined' && typeof navigator.sendBeacon === 'function') {
      let budget = MAX_REQUEST_BYTES - queue.filter((event) => inFlight.has(event.eventId)).reduce((sum, event) => sum + sizeOf(event), 0);
      for (;;) {
        const batch = takeBatch(budget);
        if (batch.length === 0) break;
        const body = JSON.stringify({ events: batch });
        if (!navigator.sendBeacon(url, body)) break;
        budget -= encoder.encode(body).length;
        counters.sent += batch.length;
        forget(batch);
      }
    }
    void persistPending();
  };

  const onVisibilityChange = () => {
    if (document.visibilityState === 'hidden') flushOnHide();
  };
  const onOnline = () => {
    failures = 0;
    void flush();
  };
  const lifecycle = options.lifecycle !== false && typeof window !== 'undefined' && typeof document !== 'undefined';
  if (lifecycle) {
    document.addEventListener('visibilitychange', onVisibilityChange);
    window.addEventListener('pagehide', flushOnHide);
    window.addEventListener('online', onOnline);
  }

  // Events an earlier page could not deliver go out first.
  const restored: Promise<void> = store
    .getAll()
    .then((events) => {
      const known = new Set(queue.map((event) => event.eventId));
      const earlier = events.filter((event) => !known.has(event.eventId));
      earlier.forEach((event) => persisted.add(event.eventId));
      queue.unshift(...earlier);
      enforceBound();
      if (earlier.length > 0) schedule(0);
    })
    .catch((cause: unknown) => report(new EdgeInferError('telemetry/rejected', 'Could not read undelivered events from IndexedDB.', { cause })));

  const record = (input: EventInput) => {
    if (closed) return;
    if (input.type === 'inference' && sampleRate < 1 && random() >= sampleRate) {
      counters.sampledOut += 1;
      return;
    }
    const event = {
      ...input,
      eventId: randomUuid(),
      ts: input.ts ?? Date.now(),
      sessionId,
      libraryVersion: LIBRARY_VERSION,
      ...(input.type === 'inference' ? { sampleRate } : {}),
    } as TelemetryEvent;
    queue.push(event);
    enforceBound();
    if (failures > 0 || isOffline()) schedulePersist();
    else if (queue.length - inFlight.size >= batchSize) schedule(0);
    else schedule(flushIntervalMs);
  };

  return {
    record,
    feedback(input) {
      record({ type: 'feedback', model: { id: input.model.id, version: input.model.version, variant: input.model.variant }, correct: input.correct, ...(input.top1Class === undefined ? {} : { top1Class: input.top1Class }) });
    },
    log(input) {
      if (closed) return;
      if ((input.level === 'debug' || input.level === 'info') && logSampleRate < 1 && random() >= logSampleRate) return void (counters.logsDropped += 1);
      const now = Date.now();
      if (now - logWindowStart >= 60_000) {
        logWindowStart = now;
        logsInWindow = 0;
      }
      if (logsInWindow >= maxLogsPerMinute) return void (counters.logsDropped += 1);
      logsInWindow += 1;
      record({
        type: 'log',
        level: input.level,
        code: input.code.slice(0, 64),
        message: cleanLogMessage(input.message),
        ...(input.model ? { model: { id: input.model.id, version: input.model.version, variant: input.model.variant } } : {}),
        ...(input.backend ? { backend: input.backend } : {}),
        ...(options.deviceId ? { deviceId: options.deviceId } : {}),
      });
    },
    flush,
    async close() {
      if (closed) return;
      await flush();
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      if (lifecycle) {
        document.removeEventListener('visibilitychange', onVisibilityChange);
        window.removeEventListener('pagehide', flushOnHide);
        window.removeEventListener('online', onOnline);
      }
      await persistPending();
    },
    stats: () => ({ queued: queue.length, ...counters }),
  };
}
