/**
 * The telemetry wire format, shared by the browser client and the collector so the two can never
 * disagree about what a valid event is. It imports nothing from the DOM or Node.
 *
 * Privacy is part of the schema: there is no field for input data or user identifiers, unknown
 * fields are rejected, and no string may carry a URL with a query string (tokens live there).
 */

export const EVENT_TYPES = ['load', 'inference', 'fallback', 'error', 'heartbeat', 'feedback', 'log'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Chrome and Firefox cap the bytes of all in-flight keepalive fetches and beacons at 64 KiB. */
export const MAX_REQUEST_BYTES = 64 * 1024;
export const MAX_BATCH_EVENTS = 500;

export interface ModelRef {
  readonly id: string;
  readonly version: string;
  readonly variant: string;
}

interface EventBase {
  readonly eventId: string;
  readonly ts: number;
  readonly sessionId: string;
  readonly libraryVersion: string;
  readonly model?: ModelRef;
  readonly backend?: string;
}

export interface LoadEvent extends EventBase {
  readonly type: 'load';
  readonly model: ModelRef;
  readonly backend: string;
  readonly downloadMs: number;
  readonly compileMs: number;
  readonly warmupMs: number;
  readonly totalMs: number;
  readonly cacheHit: boolean;
  readonly bytes: number;
}

export interface InferenceEvent extends EventBase {
  readonly type: 'inference';
  readonly model: ModelRef;
  readonly backend: string;
  readonly queueMs: number;
  readonly runMs: number;
  readonly totalMs: number;
  /** The client's sample rate when this event was kept, so a reader can scale counts back up. */
  readonly sampleRate: number;
  /**
   * The quality signal of a classification, without user data: the highest class probability of the
   * result (0..1) and, optionally, that class's index. Never the input or the full output.
   */
  readonly top1Probability?: number;
  readonly top1Class?: number;
}

export interface FallbackEvent extends EventBase {
  readonly type: 'fallback';
  readonly model: ModelRef;
  readonly from: string;
  readonly to: string;
  readonly code: string;
}

export interface ErrorEvent extends EventBase {
  readonly type: 'error';
  readonly code: string;
}

export interface HeartbeatEvent extends EventBase {
  readonly type: 'heartbeat';
  readonly fps: number;
  readonly p50Ms: number;
  readonly memoryBytes: number;
  readonly errors: number;
  readonly uptimeS: number;
  readonly deviceId?: string;
  /** How often this device sends a heartbeat: it counts as silent after missing two and a half. */
  readonly intervalS?: number;
}

/** The app's user said whether a result was right: an accuracy estimate per model version. */
export interface FeedbackEvent extends EventBase {
  readonly type: 'feedback';
  readonly model: ModelRef;
  readonly correct: boolean;
  readonly top1Class?: number;
}

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** A log message is for the operator ("why does this device fall back"), not for data: short and plain. */
export const MAX_LOG_MESSAGE = 500;

export interface LogEvent extends EventBase {
  readonly type: 'log';
  readonly level: LogLevel;
  readonly code: string;
  readonly message: string;
  readonly deviceId?: string;
}

export type TelemetryEvent = LoadEvent | InferenceEvent | FallbackEvent | ErrorEvent | HeartbeatEvent | FeedbackEvent | LogEvent;

export interface EventBatch {
  readonly events: readonly TelemetryEvent[];
}

/** What a caller supplies; the client adds eventId, ts, sessionId and libraryVersion. */
export type EventInput = TelemetryEvent extends infer E
  ? E extends TelemetryEvent
    ? Omit<E, 'eventId' | 'ts' | 'sessionId' | 'libraryVersion' | 'sampleRate'> & { readonly ts?: number }
    : never
  : never;

export interface ValidationIssue {
  /** Where the problem is, e.g. `events[3].model.id`. */
  readonly path: string;
  readonly message: string;
}

export type ValidationResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly issues: readonly ValidationIssue[] };

type FieldSpec =
  | { readonly kind: 'string'; readonly required: boolean; readonly maxLength: number }
  | { readonly kind: 'uuid' }
  | { readonly kind: 'number'; readonly required: boolean; readonly integer: boolean; readonly min: number; readonly max: number }
  | { readonly kind: 'boolean'; readonly required: boolean }
  | { readonly kind: 'type' }
  | { readonly kind: 'enum'; readonly required: boolean; readonly values: readonly string[] }
  | { readonly kind: 'model'; readonly required: boolean };

const NAME = { kind: 'string', required: true, maxLength: 128 } as const;
const OPTIONAL_NAME = { kind: 'string', required: false, maxLength: 128 } as const;
const CODE = { kind: 'string', required: true, maxLength: 64 } as const;
/** A day in milliseconds is far beyond any real duration; anything above is a client bug. */
const DURATION = { kind: 'number', required: true, integer: false, min: 0, max: 86_400_000 } as const;
const COUNT = { kind: 'number', required: true, integer: true, min: 0, max: Number.MAX_SAFE_INTEGER } as const;
const CLASS_INDEX = { kind: 'number', required: false, integer: true, min: 0, max: 1_000_000 } as const;

const BASE_FIELDS: Record<string, FieldSpec> = {
  eventId: { kind: 'uuid' },
  type: { kind: 'type' },
  ts: COUNT,
  sessionId: { kind: 'string', required: true, maxLength: 64 },
  libraryVersion: { kind: 'string', required: true, maxLength: 32 },
  model: { kind: 'model', required: false },
  backend: OPTIONAL_NAME,
};

/** One lookup table per event type instead of an `if` chain; it is the whole schema. */
export const EVENT_FIELDS: Record<EventType, Record<string, FieldSpec>> = {
  load: {
    ...BASE_FIELDS,
    model: { kind: 'model', required: true },
    backend: NAME,
    downloadMs: DURATION,
    compileMs: DURATION,
    warmupMs: DURATION,
    totalMs: DURATION,
    cacheHit: { kind: 'boolean', required: true },
    bytes: COUNT,
  },
  inference: {
    ...BASE_FIELDS,
    model: { kind: 'model', required: true },
    backend: NAME,
    queueMs: DURATION,
    runMs: DURATION,
    totalMs: DURATION,
    sampleRate: { kind: 'number', required: true, integer: false, min: Number.MIN_VALUE, max: 1 },
    top1Probability: { kind: 'number', required: false, integer: false, min: 0, max: 1 },
    top1Class: CLASS_INDEX,
  },
  fallback: { ...BASE_FIELDS, model: { kind: 'model', required: true }, from: NAME, to: NAME, code: CODE },
  error: { ...BASE_FIELDS, code: CODE },
  heartbeat: {
    ...BASE_FIELDS,
    fps: { kind: 'number', required: true, integer: false, min: 0, max: 10_000 },
    p50Ms: DURATION,
    memoryBytes: COUNT,
    errors: COUNT,
    uptimeS: COUNT,
    deviceId: { kind: 'string', required: false, maxLength: 64 },
    intervalS: { kind: 'number', required: false, integer: false, min: 1, max: 86_400 },
  },
  feedback: { ...BASE_FIELDS, model: { kind: 'model', required: true }, correct: { kind: 'boolean', required: true }, top1Class: CLASS_INDEX },
  log: {
    ...BASE_FIELDS,
    level: { kind: 'enum', required: true, values: LOG_LEVELS },
    code: CODE,
    message: { kind: 'string', required: true, maxLength: MAX_LOG_MESSAGE },
    deviceId: { kind: 'string', required: false, maxLength: 64 },
  },
};

const MODEL_FIELDS = ['id', 'version', 'variant'] as const;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const URL_WITH_QUERY = /[a-z][a-z0-9+.-]*:\/\/\S*\?/i;
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkString(value: unknown, path: string, maxLength: number, issues: ValidationIssue[]): void {
  if (typeof value !== 'string') return void issues.push({ path, message: 'must be a string' });
  if (value.length === 0 || value.length > maxLength) return void issues.push({ path, message: `must be 1 to ${maxLength} characters long` });
  if (CONTROL_CHARS.test(value)) return void issues.push({ path, message: 'must not contain control characters' });
  if (URL_WITH_QUERY.test(value)) issues.push({ path, message: 'must not contain a URL with a query string' });
}

function checkField(spec: FieldSpec, value: unknown, path: string, issues: ValidationIssue[]): void {
  switch (spec.kind) {
    case 'uuid':
      if (typeof value !== 'string' || !UUID.test(value)) issues.push({ path, message: 'must be a UUID' });
      return;
    case 'type':
      if (!EVENT_TYPES.includes(value as EventType)) issues.push({ path, message: `must be one of ${EVENT_TYPES.join(', ')}` });
      return;
    case 'string':
      return checkString(value, path, spec.maxLength, issues);
    case 'enum':
      if (typeof value !== 'string' || !spec.values.includes(value)) issues.push({ path, message: `must be one of ${spec.values.join(', ')}` });
      return;
    case 'boolean':
      if (typeof value !== 'boolean') issues.push({ path, message: 'must be a boolean' });
      return;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return void issues.push({ path, message: 'must be a finite number' });
      if (spec.integer && !Number.isInteger(value)) return void issues.push({ path, message: 'must be an integer' });
      if (value < spec.min || value > spec.max) issues.push({ path, message: `must be between ${spec.min} and ${spec.max}` });
      return;
    case 'model': {
      if (!isPlainObject(value)) return void issues.push({ path, message: 'must be an object with id, version and variant' });
      for (const key of Object.keys(value)) {
        if (!(MODEL_FIELDS as readonly string[]).includes(key)) issues.push({ path: `${path}.${key}`, message: 'is not a known field' });
      }
      for (const key of MODEL_FIELDS) checkString(value[key], `${path}.${key}`, 128, issues);
      return;
    }
  }
}

function isRequired(spec: FieldSpec): boolean {
  return spec.kind === 'uuid' || spec.kind === 'type' || spec.required;
}

function collectEventIssues(value: unknown, path: string, issues: ValidationIssue[]): void {
  if (!isPlainObject(value)) return void issues.push({ path, message: 'must be an object' });
  const type = value['type'];
  if (typeof type !== 'string' || !EVENT_TYPES.includes(type as EventType)) {
    return void issues.push({ path: `${path}.type`, message: `must be one of ${EVENT_TYPES.join(', ')}` });
  }
  const fields = EVENT_FIELDS[type as EventType];
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key)) issues.push({ path: `${path}.${key}`, message: `is not a known field of a ${type} event` });
  }
  for (const [key, spec] of Object.entries(fields)) {
    const fieldValue = value[key];
    if (fieldValue === undefined) {
      if (isRequired(spec)) issues.push({ path: `${path}.${key}`, message: 'is required' });
      continue;
    }
    checkField(spec, fieldValue, `${path}.${key}`, issues);
  }
}

/** Checks one event; the issues say where and what, so a 400 can be acted on. */
export function validateEvent(value: unknown): ValidationResult<TelemetryEvent> {
  const issues: ValidationIssue[] = [];
  collectEventIssues(value, 'event', issues);
  return issues.length === 0 ? { ok: true, value: value as TelemetryEvent } : { ok: false, issues };
}

/** Checks a posted batch `{ events: [...] }`. Stops collecting after 20 issues to bound the reply. */
export function validateBatch(value: unknown): ValidationResult<EventBatch> {
  const issues: ValidationIssue[] = [];
  if (!isPlainObject(value)) return { ok: false, issues: [{ path: '', message: 'must be an object { events: [...] }' }] };
  for (const key of Object.keys(value)) {
    if (key !== 'events') issues.push({ path: key, message: 'is not a known field of a batch' });
  }
  const events = value['events'];
  if (!Array.isArray(events)) return { ok: false, issues: [...issues, { path: 'events', message: 'must be an array' }] };
  if (events.length === 0 || events.length > MAX_BATCH_EVENTS) issues.push({ path: 'events', message: `must hold 1 to ${MAX_BATCH_EVENTS} events` });
  for (let index = 0; index < events.length && issues.length < 20; index += 1) {
    collectEventIssues(events[index], `events[${index}]`, issues);
  }
  return issues.length === 0 ? { ok: true, value: value as unknown as EventBatch } : { ok: false, issues: issues.slice(0, 20) };
}

/** The latency a dashboard plots for an event, or null when the event type has none. */
export function eventDurationMs(event: TelemetryEvent): number | null {
  return event.type === 'inference' || event.type === 'load' ? event.totalMs : null;
}

/**
 * The one number per event the collector keeps a distribution of beside latency: an inference's
 * top-1 probability, a feedback's 1 (correct) or 0 (wrong); null for the rest.
 */
export function eventScore(event: TelemetryEvent): number | null {
  if (event.type === 'inference') return event.top1Probability ?? null;
  if (event.type === 'feedback') return event.correct ? 1 : 0;
  return null;
}

