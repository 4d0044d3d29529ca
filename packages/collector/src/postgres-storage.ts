import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { EdgeInferError, type ErrorCode } from '@edgeinfer/core';
import { connectWithRetry } from './postgres-connect.js';
import { devicesFromRows, devicesSql } from './devices-sql.js';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from './migrations.js';
import {
  CLEAR_DIRTY_SQL,
  COMPACT_AFTER_MS,
  DEFAULT_ROLLUP_EVENTS,
  DELETE_KEY_SQL,
  DIRTY_MINUTE_SQL,
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
  type Segment,
} from './rollup.js';
import { MAX_PENDING_EVENTS, PendingBatches, foldRow } from './pending-batches.js';
import { pagedResult, rankGroups } from './stats-page.js';
import { groupCountsPlan, statsPlan, summarizeStats, type RawRow, type RollupRow, type SqlStatement } from './stats-sql.js';
import type { CardinalityValue } from './cardinality-limiter.js';
import { EVENT_COLUMNS, toEventRow, type CollectorStorage, type GroupKey } from './storage.js';
import { auditFromRows, auditSql, insertAuditSql } from './audit.js';
import { comparePlans, prepareCompare, sampleOf, type CompareRollupRow } from './compare.js';
import { postgresSlicesSql, slicesInOrder } from './compare-slices.js';
import { logsFromRows, logsSql } from './logs.js';

export interface PostgresStorageOptions {
  readonly connectionString: string;
  /** Connections per collector process. Default 10. */
  readonly maxConnections?: number;
  /** statement_timeout for stats and devices queries; past it they fail with collector/query-timeout. Default 30 s. */
  readonly queryTimeoutMs?: number;
  /** Keep retrying the first connection (server starting, network not up yet) for this long, with back-off. Default 0: fail at once. */
  readonly connectRetryMs?: number;
  /** How long one connection attempt may take before it fails (ingest and /readyz answer 503). Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Told about each failed attempt that will be retried. */
  readonly onConnectRetry?: (attempt: number, delayMs: number, cause: Error) => void;
}

/** Any numbers would do; they only have to be the same in every collector process. */
const MIGRATION_LOCK_ID = 0x6564_6765;
const ROLLUP_LOCK_ID = 0x6564_6766;
/** With the app's hashtext as the second key: admissions of one app are decided one at a time across processes. */
const CARDINALITY_LOCK_ID = 0x6564_6767;

const ROLLUP_TYPES: Record<(typeof ROLLUP_COLUMNS)[number], string> = {
  minute: 'bigint',
  type: 'text',
  group_key: 'text',
  segment: 'bigint',
  app: 'text',
  model_id: 'text',
  model_version: 'text',
  model_variant: 'text',
  backend: 'text',
  event_count: 'bigint',
  durations: 'bytea',
  scores: 'bytea',
  duration_bins: 'bytea',
  score_bins: 'bytea',
  score_sum: 'float8',
};

const COLUMN_TYPES: Record<(typeof EVENT_COLUMNS)[number], string> = {
  event_id: 'text',
  app: 'text',
  type: 'text',
  ts: 'bigint',
  received_at: 'bigint',
  session_id: 'text',
  model_id: 'text',
  model_version: 'text',
  model_variant: 'text',
  backend: 'text',
  duration_ms: 'float8',
  code: 'text',
  device_id: 'text',
  payload: 'text',
  score: 'float8',
  level: 'text',
};

const placeholder = (index: number) => `$${index}`;

const DAY_MS = 86_400_000;
const PROBE_SQL = `WITH gone AS (DELETE FROM readiness_probes WHERE probed_at < $3 AND collector_id <> $1)
  INSERT INTO readiness_probes (collector_id, probed_at) VALUES ($1, $2)
  ON CONFLICT (collector_id) DO UPDATE SET probed_at = excluded.probed_at`;

/** SQLSTATEs an operator acts on differently (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const CODE_BY_SQLSTATE: Record<string, ErrorCode> = {
  '57014': 'collector/query-timeout',
  '53100': 'collector/storage-full',
  '25006': 'collector/storage-read-only',
  '58030': 'collector/storage-io',
};

function storageError(action: string, cause: unknown): EdgeInferError {
  if (cause instanceof EdgeInferError) return cause;
  const sqlState = (cause as { code?: unknown } | null)?.code;
  const code = (typeof sqlState === 'string' ? CODE_BY_SQLSTATE[sqlState] : undefined) ?? 'collector/storage';
  return new EdgeInferError(code, `PostgreSQL could not ${action}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause, details: typeof sqlState === 'string' ? { sqlState } : {} });
}

/**
 * Many stateless collector processes may share one database: inserts are single statements (atomic
 * on their own), dedupe is the primary key, and migrations run under an advisory lock.
 */
export async function createPostgresStorage(options: PostgresStorageOptions): Promise<CollectorStorage> {
  // Without a connect timeout a server that accepts no connections (hung, network black hole) would
  // hold /readyz and ingest forever instead of answering 503.
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000 });
  const collectorId = randomUUID();
  // An idle client losing its connection (database restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);

  let client: pg.PoolClient;
  try {
    client = await connectWithRetry(() => pool.connect(), { retryMs: options.connectRetryMs ?? 0, ...(options.onConnectRetry === undefined ? {} : { onRetry: options.onConnectRetry }) });
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw storageError('connect', cause);
  }
  const queryTimeoutMs = Math.max(1, Math.round(options.queryTimeoutMs ?? 30_000));
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(MIGRATIONS_TABLE_SQL);
    const applied = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.sql) await client.query(statement);
      await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
    }
    await client.query('COMMIT');
  } catch (cause) {
    await client.query('ROLLBACK').catch(() => undefined);
    await pool.end();
    throw storageError('migrate the schema', cause);
  } finally {
    client.release();
  }

  // One statement for the whole batch: rows arrive as one array per column, so the statement text
  // is the same for every batch size and the parameter count stays at one per column.
  // ingest_seq is the inserting transaction's id: the roll-up only folds ids below the oldest
  // transaction still running, so a batch committing late is never skipped.
  const insertSql = `INSERT INTO events (${EVENT_COLUMNS.join(', ')}, ingest_seq)
    SELECT *, pg_current_xact_id()::text::bigint FROM unnest(${EVENT_COLUMNS.map((column, index) => `$${index + 1}::${COLUMN_TYPES[column]}[]`).join(', ')})
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id, ingest_seq`;
  const insertSegmentsSql = `INSERT INTO rollup_minutes (${ROLLUP_COLUMNS.join(', ')})
    SELECT * FROM unnest(${ROLLUP_COLUMNS.map((column, index) => `$${index + 1}::${ROLLUP_TYPES[column]}[]`).join(', ')})`;

  /** Runs `work` in one transaction on one connection; rolls back on any error. */
  async function inTransaction<T>(begin: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw cause;
    } finally {
      client.release();
    }
  }
  const rows = async (client: pg.PoolClient, statement: SqlStatement) => (await client.query(statement.text, [...statement.params])).rows as Record<string, unknown>[];
  const rawRows = async (client: pg.PoolClient, statement: SqlStatement) =>
    (await client.query({ text: statement.text, values: [...statement.params], rowMode: 'array' })).rows as RawRow[];
  const storeSegments = async (client: pg.PoolClient, segments: readonly Segment[]) => {
    if (segments.length === 0) return;
    await client.query(insertSegmentsSql, ROLLUP_COLUMNS.map((column) => segments.map((segment) => segment[column])));
    await client.query('INSERT INTO rollup_dirty (minute) SELECT DISTINCT unnest($1::bigint[]) ON CONFLICT (minute) DO NOTHING', [segments.map((segment) => segment.minute)]);
  };

  const pending = new PendingBatches(MAX_PENDING_EVENTS);

  const foldStep = (maxEvents: number, now: number) =>
    inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ', async (client) => {
      // Another collector process is rolling up; it does the same work.
      if (!(await client.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [ROLLUP_LOCK_ID])).rows[0].locked) return { events: 0, compacted: 0, end: 0 };
      const stored = Number((await client.query(ROLLUP_STATE_SQL)).rows[0].seq_watermark);
      // Every transaction id below the snapshot's xmin has committed or aborted: nothing can still appear there.
      const limit = Number((await client.query('SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin')).rows[0].xmin);
      /** Remembered batches for a step from `from`, if the database holds exactly those rows there (no other process's). */
      const fromMemory = async (from: number) => {
        const step = pending.take(from, limit, maxEvents);
        if (step === null) return null;
        const count = Number((await client.query('SELECT COUNT(*) AS n FROM events WHERE ingest_seq >= $1 AND ingest_seq < $2', [from, step.end])).rows[0].n);
        return count === step.rows.length ? step : null;
      };
      let watermark = stored;
      let step = await fromMemory(watermark);
      if (step === null) {
        // Read up to our first remembered batch, so the step after can take those from memory.
        const first = pending.firstFrom(watermark);
        const readLimit = first !== undefined && first > watermark ? Math.min(limit, first) : limit;
        const end = stepEnd(readLimit, (await rows(client, stepBoundsSql(watermark, readLimit, maxEvents, placeholder)))[0]!);
        if (end === null && first !== undefined) {
          // Nothing is stored below our first batch, and no transaction below xmin can still add rows there.
          watermark = Math.max(watermark, readLimit);
          step = await fromMemory(watermark);
        } else if (end !== null) {
          step = { end, rows: await rawRows(client, stepRowsSql(watermark, end, placeholder)) };
        }
      }
      let events = 0;
      if (step !== null) {
        await storeSegments(client, segmentsOf(step.rows, watermark));
        watermark = step.end;
        events = step.rows.length;
      }
      if (watermark !== stored) await client.query(SET_WATERMARK_SQL(placeholder), [watermark]);
      return { events, compacted: await compactStep(client, now), end: watermark };
    });

  const compactStep = async (client: pg.PoolClient, now: number): Promise<number> => {
    const minute = (await client.query(DIRTY_MINUTE_SQL(placeholder), [now - COMPACT_AFTER_MS - MINUTE_MS])).rows[0]?.minute as string | undefined;
    if (minute === undefined) return 0;
    const merged = compactSegments((await client.query(MINUTE_SEGMENTS_SQL(placeholder), [minute])).rows as (RollupRow & { group_key: string; segment: string; scores: Uint8Array | null })[]);
    for (const segment of merged) await client.query(DELETE_KEY_SQL(placeholder), [segment.minute, segment.type, segment.group_key]);
    if (merged.length > 0) await client.query(insertSegmentsSql, ROLLUP_COLUMNS.map((column) => merged.map((segment) => segment[column])));
    await client.query(CLEAR_DIRTY_SQL(placeholder), [minute]);
    return 1;
  };

  return {
    kind: 'postgres',
    async insertBatch(app, events, receivedAt) {
      const rows = events.map((event) => toEventRow(app, event, receivedAt));
      try {
        const result = await pool.query({ name: 'edgeinfer-insert-events', text: insertSql, values: EVENT_COLUMNS.map((column) => rows.map((row) => row[column])) });
        const stored = result.rows as { event_id: string; ingest_seq: string }[];
        const acceptedIds = new Set(stored.map((row) => row.event_id));
        // All rows of one statement share its transaction id.
        if (stored.length > 0) pending.add(Number(stored[0]!.ingest_seq), rows.filter((row) => acceptedIds.has(row.event_id)).map(foldRow));
        return { accepted: acceptedIds.size, duplicates: events.length - acceptedIds.size, acceptedIds };
      } catch (cause) {
        throw storageError('store the batch', cause);
      }
    },
    async stats(query) {
      try {
        // One snapshot for the watermark, the rollups and the raw rows, so nothing counts twice or not at all.
        return await inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
          await client.query(`SET LOCAL statement_timeout = ${queryTimeoutMs}`);
          const watermark = Number((await client.query(ROLLUP_STATE_SQL)).rows[0].seq_watermark);
          const summarize = async (groups?: readonly GroupKey[]) => {
            const plan = statsPlan(query, watermark, placeholder, groups === undefined ? {} : { groups });
            const rollupRows = plan.rollups === null ? [] : ((await rows(client, plan.rollups)) as unknown as RollupRow[]);
            const raw: RawRow[] = [];
            for (const statement of plan.raw) raw.push(...(await rawRows(client, statement)));
            return summarizeStats(query, rollupRows, raw);
          };
          if (query.page === undefined) return await summarize();
          // With a page, the counts rank the groups first and only the page's groups are summarized.
          const counts = groupCountsPlan(query, watermark, placeholder);
          const rollupCounts = counts.rollups === null ? [] : await rawRows(client, counts.rollups);
          const rawCounts: RawRow[] = [];
          for (const statement of counts.raw) rawCounts.push(...(await rawRows(client, statement)));
          const ranked = rankGroups(rollupCounts, rawCounts, query.page);
          return pagedResult(ranked.groups.length === 0 ? summarizeStats(query, [], []) : await summarize(ranked.groups), ranked, query.page);
        });
      } catch (cause) {
        throw storageError('compute stats', cause);
      }
    },
    async compare(query) {
      try {
        return await inTransaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (client) => {
          await client.query(`SET LOCAL statement_timeout = ${queryTimeoutMs}`);
          const plans = comparePlans(query, Number((await client.query(ROLLUP_STATE_SQL)).rows[0].seq_watermark), placeholder);
          const samples = [];
          for (const plan of plans) {
            const rollupRows = plan.rollups === null ? [] : ((await rows(client, plan.rollups)) as unknown as CompareRollupRow[]);
            const raw: RawRow[] = [];
            for (const statement of plan.raw) raw.push(...(await rawRows(client, statement)));
            samples.push(sampleOf(rollupRows, raw));
          }
          // Then the values of the percentiles' bins, in the same snapshot.
          const prepared = prepareCompare(query, samples[0]!, samples[1]!);
          if (prepared.slices.length === 0) return prepared.finish([]);
          const slices = postgresSlicesSql(prepared.slices);
          return prepared.finish(slicesInOrder(prepared.slices.length, (await client.query(slices.text, [...slices.values])).rows as Record<string, unknown>[]));
        });
      } catch (cause) {
        throw storageError('compare versions', cause);
      }
    },
    async logs(query) {
      try {
        return await inTransaction('BEGIN READ ONLY', async (client) => {
          await client.query(`SET LOCAL statement_timeout = ${queryTimeoutMs}`);
          return logsFromRows(await rows(client, logsSql(query, placeholder)));
        });
      } catch (cause) {
        throw storageError('list logs', cause);
      }
    },
    async audit(query) {
      try {
        const statement = auditSql(query, placeholder);
        return auditFromRows((await pool.query(statement.text, [...statement.params])).rows as Record<string, unknown>[]);
      } catch (cause) {
        throw storageError('list the audit log', cause);
      }
    },
    async recordAudit(entry) {
      try {
        const statement = insertAuditSql(entry, placeholder);
        await pool.query(statement.text, [...statement.params]);
      } catch (cause) {
        throw storageError('record an audit entry', cause);
      }
    },
    async rollUp(options = {}) {
      try {
        const { events, compacted, end } = await foldStep(options.maxEvents ?? DEFAULT_ROLLUP_EVENTS, options.now ?? Date.now());
        // Only after the commit: a rolled-back step must not lose what memory holds.
        pending.forgetBelow(end);
        return { events, compacted, idle: events === 0 && compacted === 0 };
      } catch (cause) {
        throw storageError('roll up events', cause);
      }
    },
    async devices(since, app) {
      const statement = devicesSql(placeholder, since, app);
      try {
        return await inTransaction('BEGIN READ ONLY', async (client) => {
          await client.query(`SET LOCAL statement_timeout = ${queryTimeoutMs}`);
          return devicesFromRows(await rows(client, statement));
        });
      } catch (cause) {
        throw storageError('list devices', cause);
      }
    },
    async deleteOlderThan(before, after = Number.MAX_SAFE_INTEGER) {
      const cutoff = Math.floor(before / MINUTE_MS) * MINUTE_MS;
      const futureCutoff = Math.ceil(after / MINUTE_MS) * MINUTE_MS;
      // Under the roll-up lock, so no step writes a segment for a minute being deleted.
      return inTransaction('BEGIN', async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [ROLLUP_LOCK_ID]);
        await client.query('DELETE FROM rollup_minutes WHERE minute < $1 OR minute >= $2', [cutoff, futureCutoff]);
        await client.query('DELETE FROM rollup_dirty WHERE minute < $1 OR minute >= $2', [cutoff, futureCutoff]);
        return (await client.query('DELETE FROM events WHERE ts < $1 OR ts >= $2', [cutoff, futureCutoff])).rowCount ?? 0;
      });
    },
    async admitCardinality(app, values, limits, now) {
      const kinds = values.map((value) => value.kind);
      const scopes = values.map((value) => value.scope);
      const names = values.map((value) => value.value);
      const keyOf = (kind: string, scope: string, value: string) => `${kind}\u0000${scope}\u0000${value}`;
      try {
        return await inTransaction('BEGIN', async (client) => {
          await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [CARDINALITY_LOCK_ID, app]);
          await client.query('DELETE FROM cardinality_values WHERE app = $1 AND last_seen < $2', [app, now - limits.windowMs]);
          const known = new Set(
            (await client.query<{ kind: string; scope: string; value: string }>(
              'SELECT kind, scope, value FROM cardinality_values WHERE app = $1 AND (kind, scope, value) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))',
              [app, kinds, scopes, names],
            )).rows.map((row) => keyOf(row.kind, row.scope, row.value)),
          );
          const fresh = new Map<string, { kind: CardinalityValue['kind']; scope: string; values: string[] }>();
          for (const value of values) {
            if (known.has(keyOf(value.kind, value.scope, value.value))) continue;
            const group = `${value.kind}\u0000${value.scope}`;
            if (!fresh.has(group)) fresh.set(group, { kind: value.kind, scope: value.scope, values: [] });
            fresh.get(group)!.values.push(value.value);
          }
          if (fresh.size > 0) {
            const groups = [...fresh.values()];
            const counts = new Map(
              (await client.query<{ kind: string; scope: string; n: number; oldest: string }>(
                'SELECT kind, scope, COUNT(*)::int AS n, MIN(last_seen) AS oldest FROM cardinality_values WHERE app = $1 AND (kind, scope) IN (SELECT * FROM unnest($2::text[], $3::text[])) GROUP BY kind, scope',
                [app, groups.map((group) => group.kind), groups.map((group) => group.scope)],
              )).rows.map((row) => [`${row.kind}\u0000${row.scope}`, row]),
            );
            const max = { models: limits.maxModels, versions: limits.maxVersionsPerModel, devices: limits.maxDevices };
            // The same order as the process's own check: models, then versions, then devices.
            for (const kind of ['models', 'versions', 'devices'] as const) {
              for (const group of groups.filter((entry) => entry.kind === kind)) {
                const count = counts.get(`${group.kind}\u0000${group.scope}`);
                if ((count?.n ?? 0) + group.values.length > max[kind]) return { kind, scope: group.scope, oldestSeen: count === undefined ? now : Number(count.oldest), values: group.values };
              }
            }
          }
          await client.query(
            `INSERT INTO cardinality_values (app, kind, scope, value, last_seen) SELECT $1, kind, scope, value, $5 FROM unnest($2::text[], $3::text[], $4::text[]) AS v (kind, scope, value)
              ON CONFLICT (app, kind, scope, value) DO UPDATE SET last_seen = GREATEST(cardinality_values.last_seen, excluded.last_seen)`,
            [app, kinds, scopes, names, now],
          );
          return null;
        });
      } catch (cause) {
        throw storageError('check the cardinality limits', cause);
      }
    },
    async ping() {
      // A real write, committed: SELECT 1 succeeds on a server that is read-only
      // (default_transaction_read_only, a hot standby after a failover) and would keep this process
      // in the balancer while every batch fails. Probes of collectors gone for a day are removed.
      try {
        const now = Date.now();
        await pool.query({ name: 'edgeinfer-readiness-probe', text: PROBE_SQL, values: [collectorId, now, now - DAY_MS] });
      } catch (cause) {
        throw storageError('write a readiness probe', cause);
      }
    },
    async close() {
      await pool.query('DELETE FROM readiness_probes WHERE collector_id = $1', [collectorId]).catch(() => undefined);
      await pool.end();
    },
  };
}
