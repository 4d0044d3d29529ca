import Database from 'better-sqlite3';
import { EdgeInferError } from '@edgeinfer/core';
import { createFileGuard, freeBytesNear, isDiskFault, sqliteErrorCode, sqliteFault } from './sqlite-faults.js';
import { createQueryPool } from './sqlite-query-pool.js';
import { bindNumbered, createSqliteReads, sqlitePlaceholder } from './sqlite-reads.js';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from './migrations.js';
import {
  CLEAR_DIRTY_SQL,
  COMPACT_AFTER_MS,
  DEFAULT_ROLLUP_EVENTS,
  DELETE_KEY_SQL,
  DIRTY_MINUTE_SQL,
  MARK_DIRTY_SQL,
  MINUTE_MS,
  MINUTE_SEGMENTS_SQL,
  ROLLUP_COLUMNS,
  ROLLUP_STATE_SQL,
  SET_WATERMARK_SQL,
  compactSegments,
  segmentsOf,
  stepBoundsSql,
  stepEnd,
  stepRowsSql,
  type RollupProgress,
  type Segment,
} from './rollup.js';
import { MAX_PENDING_EVENTS, PendingBatches, foldRow } from './pending-batches.js';
import type { RawRow, RollupRow, SqlStatement } from './stats-sql.js';
import { EVENT_COLUMNS, toEventRow, type CollectorStorage, type DeviceStatus, type StatsResult } from './storage.js';
import { insertAuditSql, type AuditEntry } from './audit.js';
import type { CompareResult } from './compare.js';
import type { LogRecord } from './logs.js';

export interface SqliteStorageOptions {
  /** One file holds everything; `:memory:` for throwaway use. */
  readonly path: string;
  /**
   * FULL (default) fsyncs the WAL at every commit, so an acknowledged batch survives power loss too.
   * NORMAL survives a killed process but may lose the last commits on power loss; it is faster.
   */
  readonly synchronous?: 'full' | 'normal';
  /** Stats and devices queries run on worker threads and fail with collector/query-timeout past this. Default 30 s. */
  readonly queryTimeoutMs?: number;
  /** Query threads at most. Default 2. */
  readonly queryThreads?: number;
  /** Below this many free bytes on the database's disk, readiness fails before the disk is full. Default 16 MiB. */
  readonly minFreeBytes?: number;
}

const storageError = sqliteFault;

function openDatabase(options: SqliteStorageOptions): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(options.path);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    // Another collector process (or a backup) may hold the write lock briefly.
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return db;
  } catch (cause) {
    db?.close();
    const sqliteCode = (cause as { code?: unknown } | null)?.code;
    const code = sqliteErrorCode(sqliteCode);
    throw new EdgeInferError(code === 'collector/storage' ? 'collector/storage-io' : code, `SQLite could not open ${options.path}: ${cause instanceof Error ? cause.message : String(cause)}; check that its directory exists and is writable.`, {
      cause,
      details: { path: options.path, ...(typeof sqliteCode === 'string' ? { sqliteCode } : {}) },
    });
  }
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec(MIGRATIONS_TABLE_SQL);
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((row) => row.version));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      migration.sql.forEach((statement) => db.exec(statement));
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
    }
  }).immediate();
}

export function createSqliteStorage(options: SqliteStorageOptions): CollectorStorage {
  const db = openDatabase(options);
  const guard = createFileGuard(options.path);
  /** Set for good once the file at the path is not ours: every later write would go to an orphan. */
  let lost: EdgeInferError | null = null;
  /** The last disk fault of a write; cleared by the next write that succeeds. */
  let diskFault: EdgeInferError | null = null;
  let rescue: Promise<unknown> = Promise.resolve();
  const minFreeBytes = options.minFreeBytes ?? 16 * 1024 * 1024;

  // Positional parameters: measurably cheaper to bind than 15 named ones at tens of thousands of rows a second.
  const insert = db.prepare(`INSERT INTO events (${EVENT_COLUMNS.join(', ')}, ingest_seq) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')}, ?) ON CONFLICT (event_id) DO NOTHING`);
  // Inside the write lock, so batches are numbered in commit order; never below the watermark, even
  // when retention deleted the newest rows.
  const nextSeq = db.prepare('SELECT MAX(COALESCE((SELECT MAX(ingest_seq) FROM events), 0) + 1, (SELECT seq_watermark FROM rollup_state WHERE id = 1)) AS seq').pluck();
  const insertAll = db.transaction((rows: ReturnType<typeof toEventRow>[]) => {
    const seq = nextSeq.get() as number;
    const accepted = new Set<string>();
    const stored: RawRow[] = [];
    for (const row of rows) {
      const { event_id, app, type, ts, received_at, session_id, model_id, model_version, model_variant, backend, duration_ms, code, device_id, payload, score, level } = row;
      if (insert.run(event_id, app, type, ts, received_at, session_id, model_id, model_version, model_variant, backend, duration_ms, code, device_id, payload, score, level, seq).changes === 1) {
        accepted.add(event_id);
        stored.push(foldRow(row));
      }
    }
    return { accepted, seq, stored };
  });

  const placeholder = sqlitePlaceholder;
  const bind = bindNumbered;
  const all = (statement: SqlStatement) => db.prepare(statement.text).all(bind(statement.params)) as Record<string, unknown>[];
  const allRaw = (statement: SqlStatement) => db.prepare(statement.text).raw().all(bind(statement.params)) as RawRow[];
  const run = (text: string, ...params: unknown[]) => db.prepare(text).run(bind(params));
  const insertSegment = db.prepare(`INSERT INTO rollup_minutes (${ROLLUP_COLUMNS.join(', ')}) VALUES (${ROLLUP_COLUMNS.map((column) => `@${column}`).join(', ')})`);

  const storeSegments = (segments: readonly Segment[]) => {
    for (const segment of segments) insertSegment.run(segment);
    for (const minute of new Set(segments.map((segment) => segment.minute))) run(MARK_DIRTY_SQL(placeholder), minute);
  };

  const pending = new PendingBatches(MAX_PENDING_EVENTS);
  const countSeqRange = db.prepare('SELECT COUNT(*) FROM events WHERE ingest_seq >= ? AND ingest_seq < ?').pluck();
  /** Remembered batches for a step from `watermark`, if the file holds exactly those rows there. */
  const fromMemory = (watermark: number, limit: number, maxEvents: number) => {
    const step = pending.take(watermark, limit, maxEvents);
    return step !== null && countSeqRange.get(watermark, step.end) === step.rows.length ? step : null;
  };

  const foldStep = db.transaction((maxEvents: number): { events: number; end: number } => {
    const stored = Number(db.prepare(ROLLUP_STATE_SQL).pluck().get());
    const limit = Number(db.prepare('SELECT COALESCE(MAX(ingest_seq), 0) + 1 FROM events').pluck().get());
    let watermark = stored;
    let step = fromMemory(watermark, limit, maxEvents);
    if (step === null) {
      // Read up to the first remembered batch, so the step after can take those from memory.
      const first = pending.firstFrom(watermark);
      const readLimit = first !== undefined && first > watermark ? Math.min(limit, first) : limit;
      const end = stepEnd(readLimit, all(stepBoundsSql(watermark, readLimit, maxEvents, placeholder))[0]!);
      if (end === null && first !== undefined) {
        // Nothing is stored below our first batch, and no later batch can be numbered there: skip the gap.
        watermark = Math.max(watermark, readLimit);
        step = fromMemory(watermark, limit, maxEvents);
      } else if (end !== null) {
        step = { end, rows: allRaw(stepRowsSql(watermark, end, placeholder)) };
      }
    }
    if (step === null) {
      if (watermark !== stored) run(SET_WATERMARK_SQL(placeholder), watermark);
      return { events: 0, end: watermark };
    }
    storeSegments(segmentsOf(step.rows, watermark));
    run(SET_WATERMARK_SQL(placeholder), step.end);
    return { events: step.rows.length, end: step.end };
  });

  /** One step; what it folded is forgotten only after the commit (a rolled-back step keeps it). */
  const fold = (maxEvents: number): number => {
    const { events, end } = foldStep.immediate(maxEvents);
    pending.forgetBelow(end);
    return events;
  };

  const compactStep = db.transaction((now: number): number => {
    const minute = all({ text: DIRTY_MINUTE_SQL(placeholder), params: [now - COMPACT_AFTER_MS - MINUTE_MS] })[0]?.['minute'] as number | undefined;
    if (minute === undefined) return 0;
    const merged = compactSegments(all({ text: MINUTE_SEGMENTS_SQL(placeholder), params: [minute] }) as unknown as (RollupRow & { group_key: string; segment: number; scores: Uint8Array | null })[]);
    for (const segment of merged) run(DELETE_KEY_SQL(placeholder), segment.minute, segment.type, segment.group_key);
    for (const segment of merged) insertSegment.run(segment);
    run(CLEAR_DIRTY_SQL(placeholder), minute);
    return 1;
  });

  // Reads run on worker threads with their own connections; an in-memory database has no file to share.
  const inMemory = options.path === ':memory:' || options.path === '';
  const pool = inMemory ? null : createQueryPool({ path: options.path, timeoutMs: options.queryTimeoutMs ?? 30_000, ...(options.queryThreads === undefined ? {} : { threads: options.queryThreads }) });
  const localReads = inMemory ? createSqliteReads(db) : null;

  const deleteOutside = db.transaction((cutoff: number, futureCutoff: number) => {
    run('DELETE FROM rollup_minutes WHERE minute < ?1 OR minute >= ?2', cutoff, futureCutoff);
    run('DELETE FROM rollup_dirty WHERE minute < ?1 OR minute >= ?2', cutoff, futureCutoff);
    return run('DELETE FROM events WHERE ts < ?1 OR ts >= ?2', cutoff, futureCutoff).changes;
  });

  // A write that really changes a page: SQLite skips writing a row overwritten with the same bytes.
  // user_version is not used by the collector (migrations are in schema_migrations).
  const probeWrite = db.transaction(() => db.pragma(`user_version = ${((db.pragma('user_version', { simple: true }) as number) + 1) % 1_000_000}`));

  /** Throws (and remembers) when the path no longer names the open file; the open file is copied aside first. */
  const ensureOwnFile = () => {
    if (lost !== null) throw lost;
    const replaced = guard.check();
    if (replaced === null) return;
    lost = replaced;
    // The open (unlinked) database still holds every acknowledged event: copy it next to the path.
    const rescuePath = `${options.path}.orphaned-${Date.now()}`;
    (replaced.details as Record<string, unknown>)['rescuePath'] = rescuePath;
    rescue = db.backup(rescuePath).catch(() => ((replaced.details as Record<string, unknown>)['rescuePath'] = null));
    throw lost;
  };

  /** Runs a write; a disk fault is remembered so readiness fails until a write succeeds again. */
  const write = <T>(action: string, work: () => T): T => {
    ensureOwnFile();
    try {
      const result = work();
      diskFault = null;
      return result;
    } catch (cause) {
      const typed = sqliteFault(action, cause);
      if (isDiskFault(typed)) diskFault = typed;
      throw typed;
    }
  };

  return {
    kind: 'sqlite',
    async insertBatch(app, events, receivedAt) {
      // better-sqlite3 is synchronous: when this returns, the transaction is committed.
      const { accepted: acceptedIds, seq, stored } = write('store the batch', () => insertAll.immediate(events.map((event) => toEventRow(app, event, receivedAt))));
      // Committed, but into the file at the path? If it was deleted meanwhile, the batch is not acknowledged.
      ensureOwnFile();
      pending.add(seq, stored);
      return { accepted: acceptedIds.size, duplicates: events.length - acceptedIds.size, acceptedIds };
    },
    async stats(query) {
      if (localReads !== null) {
        try {
          return localReads.stats(query);
        } catch (cause) {
          throw storageError('compute stats', cause);
        }
      }
      return pool!.run<StatsResult>({ kind: 'stats', query });
    },
    async devices(since, app): Promise<DeviceStatus[]> {
      if (localReads !== null) return localReads.devices(since, app);
      return pool!.run<DeviceStatus[]>({ kind: 'devices', since, ...(app === undefined ? {} : { app }) });
    },
    async compare(query) {
      if (localReads !== null) return localReads.compare(query);
      return pool!.run<CompareResult>({ kind: 'compare', query });
    },
    async logs(query) {
      if (localReads !== null) return localReads.logs(query);
      return pool!.run<LogRecord[]>({ kind: 'logs', query });
    },
    async audit(query) {
      if (localReads !== null) return localReads.audit(query);
      return pool!.run<AuditEntry[]>({ kind: 'audit', query });
    },
    async recordAudit(entry) {
      const statement = insertAuditSql(entry, placeholder);
      write('record an audit entry', () => db.prepare(statement.text).run(bind(statement.params)));
    },
    async rollUp(options = {}): Promise<RollupProgress> {
      return write('roll up events', () => {
        const events = fold(options.maxEvents ?? DEFAULT_ROLLUP_EVENTS);
        const compacted = compactStep.immediate(options.now ?? Date.now());
        return { events, compacted, idle: events === 0 && compacted === 0 };
      });
    },
    async deleteOlderThan(before, after = Number.MAX_SAFE_INTEGER) {
      // Whole minutes, so no rollup is left holding events that are gone.
      return write('delete old events', () => deleteOutside.immediate(Math.floor(before / MINUTE_MS) * MINUTE_MS, Math.ceil(after / MINUTE_MS) * MINUTE_MS));
    },
    async ping() {
      ensureOwnFile();
      db.prepare('SELECT 1').get();
      const free = freeBytesNear(options.path);
      if (free !== null && free < minFreeBytes && !inMemory) {
        throw new EdgeInferError('collector/storage-full', `The disk holding ${options.path} has ${free} bytes free, less than the ${minFreeBytes} the collector needs to accept events safely; free some space.`, {
          details: { freeBytes: free, minFreeBytes },
        });
      }
      // After a disk fault, ready again only once a write really succeeds.
      if (diskFault !== null) write('write a readiness probe', () => probeWrite.immediate());
    },
    async close() {
      await pool?.close();
      await rescue;
      if (db.open) db.close();
    },
  };
}
