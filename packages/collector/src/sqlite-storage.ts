import Database from 'better-sqlite3';
import { EdgeInferError } from '@edgeinfer/core';
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
import { statsPlan, summarizeStats, type RawRow, type RollupRow, type SqlStatement } from './stats-sql.js';
import { EVENT_COLUMNS, toEventRow, type CollectorStorage, type DeviceStatus, type StatsQuery } from './storage.js';
import { devicesFromRows, devicesSql } from './devices-sql.js';

export interface SqliteStorageOptions {
  /** One file holds everything; `:memory:` for throwaway use. */
  readonly path: string;
  /**
   * FULL (default) fsyncs the WAL at every commit, so an acknowledged batch survives power loss too.
   * NORMAL survives a killed process but may lose the last commits on power loss; it is faster.
   */
  readonly synchronous?: 'full' | 'normal';
}

/** Events kept in memory for the next roll-up steps at most (about 10 MB). */
const MAX_PENDING_EVENTS = 50_000;

function storageError(action: string, cause: unknown): EdgeInferError {
  return new EdgeInferError('collector/storage', `SQLite could not ${action}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

export function createSqliteStorage(options: SqliteStorageOptions): CollectorStorage {
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  // Another collector process (or a backup) may hold the write lock briefly.
  db.pragma('busy_timeout = 5000');

  db.transaction(() => {
    db.exec(MIGRATIONS_TABLE_SQL);
    const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((row) => row.version));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      migration.sql.forEach((statement) => db.exec(statement));
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, Date.now());
    }
  }).immediate();

  // Positional parameters: binding 15 values by name costs more than the insert itself at high rates.
  const insert = db.prepare(`INSERT INTO events (${EVENT_COLUMNS.join(', ')}, ingest_seq) VALUES (${EVENT_COLUMNS.map(() => '?').join(', ')}, ?) ON CONFLICT (event_id) DO NOTHING`);
  // Inside the write lock, so batches are numbered in commit order; never below the watermark, even
  // when retention deleted the newest rows.
  const nextSeq = db.prepare('SELECT MAX(COALESCE((SELECT MAX(ingest_seq) FROM events), 0) + 1, (SELECT seq_watermark FROM rollup_state WHERE id = 1)) AS seq').pluck();
  const insertAll = db.transaction((rows: ReturnType<typeof toEventRow>[]) => {
    const seq = nextSeq.get() as number;
    const accepted = new Set<string>();
    const stored: RawRow[] = [];
    for (const row of rows) {
      const { event_id, app, type, ts, received_at, session_id, model_id, model_version, model_variant, backend, duration_ms, code, device_id, payload } = row;
      if (insert.run(event_id, app, type, ts, received_at, session_id, model_id, model_version, model_variant, backend, duration_ms, code, device_id, payload, seq).changes === 1) {
        accepted.add(event_id);
        stored.push([type, app, model_id, model_version, model_variant, backend, ts, duration_ms]);
      }
    }
    return { accepted, batch: { seq, rows: stored } };
  });

  /**
   * The batches this process stored since the last roll-up step, in seq order without gaps, so a
   * step can fold them without reading them back (that read was a tenth of the collector's time at
   * peak ingest). Another writer on the same file, or retention, shows up as a gap or a count that
   * differs from the database's; the step then reads the database, which is always right.
   */
  let pending: { seq: number; rows: RawRow[] }[] = [];
  let pendingEvents = 0;
  const remember = (batch: { seq: number; rows: RawRow[] }) => {
    const last = pending.at(-1);
    if (last !== undefined && last.seq + 1 !== batch.seq) pending = [];
    if (pending.length === 0) pendingEvents = 0;
    pending.push(batch);
    pendingEvents += batch.rows.length;
    // With the roll-up off or far behind, memory stays bounded; the database has everything.
    if (pendingEvents > MAX_PENDING_EVENTS) pending = [];
  };
  const countSeqRange = db.prepare('SELECT COUNT(*) FROM events WHERE ingest_seq >= ? AND ingest_seq < ?').pluck();

  /** Rows for a step starting at `watermark` from memory, or null when memory does not hold exactly them. */
  const takePending = (watermark: number, maxEvents: number): { end: number; rows: RawRow[]; taken: number } | null => {
    if (pending[0]?.seq !== watermark) return null;
    const rows: RawRow[] = [];
    let taken = 0;
    while (taken < pending.length && (taken === 0 || rows.length < maxEvents)) rows.push(...pending[taken++]!.rows);
    const end = pending[taken - 1]!.seq + 1;
    return countSeqRange.get(watermark, end) === rows.length ? { end, rows, taken } : null;
  };

  // Numbered parameters (?1), as the shared SQL repeats some; better-sqlite3 binds them by name.
  const placeholder = (index: number) => `?${index}`;
  const bind = (params: readonly unknown[]) => Object.fromEntries(params.map((value, index) => [index + 1, value]));
  const all = (statement: SqlStatement) => db.prepare(statement.text).all(bind(statement.params)) as Record<string, unknown>[];
  const allRaw = (statement: SqlStatement) => db.prepare(statement.text).raw().all(bind(statement.params)) as RawRow[];
  const run = (text: string, ...params: unknown[]) => db.prepare(text).run(bind(params));
  const insertSegment = db.prepare(`INSERT INTO rollup_minutes (${ROLLUP_COLUMNS.join(', ')}) VALUES (${ROLLUP_COLUMNS.map((column) => `@${column}`).join(', ')})`);

  const storeSegments = (segments: readonly Segment[]) => {
    for (const segment of segments) insertSegment.run(segment);
    for (const minute of new Set(segments.map((segment) => segment.minute))) run(MARK_DIRTY_SQL(placeholder), minute);
  };

  const foldStep = db.transaction((maxEvents: number): { events: number; taken: number; end: number } => {
    const stored = Number(db.prepare(ROLLUP_STATE_SQL).pluck().get());
    let watermark = stored;
    let step = takePending(watermark, maxEvents);
    if (step === null) {
      // Up to the first remembered batch, so the next step can take those from memory.
      const limit = Math.min(Number(db.prepare('SELECT COALESCE(MAX(ingest_seq), 0) + 1 FROM events').pluck().get()), pending[0]?.seq ?? Infinity);
      const end = stepEnd(limit, all(stepBoundsSql(watermark, limit, maxEvents, placeholder))[0]!);
      if (end === null) {
        // Nothing is stored below limit, and no later batch can be numbered there: skip the gap.
        watermark = Math.max(watermark, limit);
        step = takePending(watermark, maxEvents);
      } else {
        step = { end, rows: allRaw(stepRowsSql(watermark, end, placeholder)), taken: 0 };
      }
    }
    if (step === null) {
      if (watermark !== stored) run(SET_WATERMARK_SQL(placeholder), watermark);
      return { events: 0, taken: 0, end: watermark };
    }
    storeSegments(segmentsOf(step.rows, watermark));
    run(SET_WATERMARK_SQL(placeholder), step.end);
    return { events: step.rows.length, taken: step.taken, end: step.end };
  });

  /** One step, then forgets what it folded (only after the commit: a rolled-back step keeps it). */
  const fold = (maxEvents: number): number => {
    const { events, taken, end } = foldStep.immediate(maxEvents);
    pending = taken > 0 ? pending.slice(taken) : pending.filter((batch) => batch.seq >= end);
    pendingEvents = pending.reduce((total, batch) => total + batch.rows.length, 0);
    return events;
  };

  const compactStep = db.transaction((now: number): number => {
    const minute = all({ text: DIRTY_MINUTE_SQL(placeholder), params: [now - COMPACT_AFTER_MS - MINUTE_MS] })[0]?.['minute'] as number | undefined;
    if (minute === undefined) return 0;
    const merged = compactSegments(all({ text: MINUTE_SEGMENTS_SQL(placeholder), params: [minute] }) as unknown as (RollupRow & { group_key: string; segment: number })[]);
    for (const segment of merged) run(DELETE_KEY_SQL(placeholder), segment.minute, segment.type, segment.group_key);
    for (const segment of merged) insertSegment.run(segment);
    run(CLEAR_DIRTY_SQL(placeholder), minute);
    return 1;
  });

  const readStats = db.transaction((query: StatsQuery) => {
    const plan = statsPlan(query, Number(db.prepare(ROLLUP_STATE_SQL).pluck().get()), placeholder);
    const rollupRows = plan.rollups === null ? [] : (all(plan.rollups) as unknown as RollupRow[]);
    return summarizeStats(query, rollupRows, plan.raw.flatMap(allRaw));
  });

  const deleteBefore = db.transaction((cutoff: number) => {
    run('DELETE FROM rollup_minutes WHERE minute < ?1', cutoff);
    run('DELETE FROM rollup_dirty WHERE minute < ?1', cutoff);
    return run('DELETE FROM events WHERE ts < ?1', cutoff).changes;
  });

  return {
    kind: 'sqlite',
    async insertBatch(app, events, receivedAt) {
      try {
        // better-sqlite3 is synchronous: when this returns, the transaction is committed.
        const { accepted: acceptedIds, batch } = insertAll.immediate(events.map((event) => toEventRow(app, event, receivedAt)));
        remember(batch);
        return { accepted: acceptedIds.size, duplicates: events.length - acceptedIds.size, acceptedIds };
      } catch (cause) {
        throw storageError('store the batch', cause);
      }
    },
    async stats(query) {
      try {
        // One read transaction: the watermark, the rollups and the raw rows are one snapshot.
        return readStats(query);
      } catch (cause) {
        throw storageError('compute stats', cause);
      }
    },
    async devices(since, app): Promise<DeviceStatus[]> {
      const statement = devicesSql(() => '?', since, app);
      return devicesFromRows(db.prepare(statement.text).all(...statement.params) as Record<string, unknown>[]);
    },
    async rollUp(options = {}): Promise<RollupProgress> {
      try {
        const events = fold(options.maxEvents ?? DEFAULT_ROLLUP_EVENTS);
        const compacted = compactStep.immediate(options.now ?? Date.now());
        return { events, compacted, idle: events === 0 && compacted === 0 };
      } catch (cause) {
        throw storageError('roll up events', cause);
      }
    },
    async deleteOlderThan(before) {
      // Whole minutes, so no rollup is left holding events that are gone.
      return deleteBefore.immediate(Math.floor(before / MINUTE_MS) * MINUTE_MS);
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
