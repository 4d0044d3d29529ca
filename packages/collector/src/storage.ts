import { eventScore, type TelemetryEvent } from '@edgeinfer/telemetry/schema';
import type { AuditEntry, AuditQuery } from './audit.js';
import type { CardinalityLimits, CardinalityRefusal, CardinalityValue } from './cardinality-limiter.js';
import type { CompareQuery, CompareResult } from './compare.js';
import type { LogQuery, LogRecord } from './logs.js';
import type { RollupProgress } from './rollup.js';
import type { StatsPage } from './stats-page.js';

/** The dimensions stats are grouped by; canary and stable versions of a model are separate groups. */
export const GROUP_COLUMNS = ['app', 'model_id', 'model_version', 'model_variant', 'backend'] as const;

export interface StatsQuery {
  readonly from: number;
  readonly to: number;
  readonly app?: string;
  readonly model?: string;
  readonly version?: string;
  readonly variant?: string;
  readonly backend?: string;
  readonly type?: TelemetryEvent['type'];
  /** When set, stats are also computed per time bucket of this many milliseconds. */
  readonly bucketMs?: number;
  /**
   * When set, only this page of the groups ranked by event count (and its buckets), with
   * totalGroups: percentiles are computed for the page's groups only.
   */
  readonly page?: StatsPage;
}

export interface GroupKey {
  readonly app: string;
  readonly model: string | null;
  readonly version: string | null;
  readonly variant: string | null;
  readonly backend: string | null;
}

export interface GroupStats extends GroupKey {
  /** Events matching the query (heartbeats excluded unless asked for by type). */
  readonly count: number;
  readonly inferences: number;
  readonly errors: number;
  readonly fallbacks: number;
  /** errors / (inferences + errors); 0 when there were neither. */
  readonly errorRate: number;
  readonly fallbackRate: number;
  readonly qps: number;
  /** Nearest-rank percentiles of inference latency (or load latency when type=load), null without samples. */
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface BucketStats extends GroupStats {
  readonly bucketStart: number;
}

export interface StatsResult {
  readonly from: number;
  readonly to: number;
  readonly bucketMs: number | null;
  readonly groups: readonly GroupStats[];
  readonly buckets: readonly BucketStats[];
  /** With query.page: every group matching the query and search, and the page asked for. */
  readonly totalGroups?: number;
  readonly limit?: number;
  readonly offset?: number;
}

export interface DeviceStatus {
  readonly app: string;
  readonly deviceId: string;
  readonly lastSeen: number;
  readonly fps: number;
  readonly p50Ms: number;
  readonly memoryBytes: number;
  readonly errors: number;
  readonly uptimeS: number;
  readonly libraryVersion: string;
  /** The heartbeat interval the device declared, if it did. */
  readonly intervalS?: number;
}

export interface InsertResult {
  readonly accepted: number;
  readonly duplicates: number;
  /** The events stored by this call (not those already present), so metrics count each event once. */
  readonly acceptedIds: ReadonlySet<string>;
}

/**
 * What the collector needs from a database. Both implementations run the same migrations and the
 * same stats SQL, so they return the same numbers for the same events.
 */
export interface CollectorStorage {
  readonly kind: 'sqlite' | 'postgres';
  /** Stores a batch atomically and durably (resolves only after commit); an already-stored eventId is a duplicate, not an error. */
  insertBatch(app: string, events: readonly TelemetryEvent[], receivedAt: number): Promise<InsertResult>;
  stats(query: StatsQuery): Promise<StatsResult>;
  devices(since: number, app?: string): Promise<DeviceStatus[]>;
  /** A candidate version against a baseline of one model, from the same rollups as stats. */
  compare(query: CompareQuery): Promise<CompareResult>;
  logs(query: LogQuery): Promise<LogRecord[]>;
  /** Appends one audit entry durably (resolves after commit). */
  recordAudit(entry: AuditEntry): Promise<void>;
  audit(query: AuditQuery): Promise<AuditEntry[]>;
  /**
   * One bounded step of background work: folds newly stored events into minute rollups and
   * compacts one closed minute. Stats are exact whether or not it has run; it only makes them fast.
   * Safe to call from many processes at once.
   */
  rollUp(options?: { readonly maxEvents?: number; readonly now?: number }): Promise<RollupProgress>;
  /**
   * Deletes events (and their rollups) older than `before`, rounded down to a whole minute, and, when
   * `after` is given, those dated at or past it (rounded up to a whole minute): clocks in the future.
   * Returns how many events.
   */
  deleteOlderThan(before: number, after?: number): Promise<number>;
  /**
   * For storage shared by many collector processes (PostgreSQL): admits `values` against the limits
   * over every collector's values, recording them as seen at `now`, or refuses (recording nothing
   * new). Absent (SQLite, one process), each process's own limiter is the limit.
   */
  admitCardinality?(app: string, values: readonly CardinalityValue[], limits: CardinalityLimits, now: number): Promise<CardinalityRefusal | null>;
  /** Resolves only when the storage can durably accept a batch now (file, disk space, a write after a fault). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface EventRow {
  readonly event_id: string;
  readonly app: string;
  readonly type: string;
  readonly ts: number;
  readonly received_at: number;
  readonly session_id: string;
  readonly model_id: string | null;
  readonly model_version: string | null;
  readonly model_variant: string | null;
  readonly backend: string | null;
  readonly duration_ms: number | null;
  readonly code: string | null;
  readonly device_id: string | null;
  readonly payload: string;
  readonly score: number | null;
  readonly level: string | null;
}

export const EVENT_COLUMNS = [
  'event_id',
  'app',
  'type',
  'ts',
  'received_at',
  'session_id',
  'model_id',
  'model_version',
  'model_variant',
  'backend',
  'duration_ms',
  'code',
  'device_id',
  'payload',
  'score',
  'level',
] as const satisfies readonly (keyof EventRow)[];

export function toEventRow(app: string, event: TelemetryEvent, receivedAt: number): EventRow {
  return {
    event_id: event.eventId,
    app,
    type: event.type,
    ts: event.ts,
    received_at: receivedAt,
    session_id: event.sessionId,
    model_id: event.model?.id ?? null,
    model_version: event.model?.version ?? null,
    model_variant: event.model?.variant ?? null,
    backend: event.backend ?? null,
    duration_ms: event.type === 'inference' || event.type === 'load' ? event.totalMs : null,
    code: event.type === 'error' || event.type === 'fallback' || event.type === 'log' ? event.code : null,
    device_id: event.type === 'heartbeat' || event.type === 'log' ? (event.deviceId ?? null) : null,
    payload: JSON.stringify(event),
    score: eventScore(event),
    level: event.type === 'log' ? event.level : null,
  };
}
