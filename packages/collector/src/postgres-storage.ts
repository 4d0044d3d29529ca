import pg from 'pg';
import { EdgeInferError } from '@edgeinfer/core';
import { devicesFromRows, devicesSql } from './devices-sql.js';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from './migrations.js';
import { computeStats } from './stats-sql.js';
import { EVENT_COLUMNS, toEventRow, type CollectorStorage } from './storage.js';

export interface PostgresStorageOptions {
  readonly connectionString: string;
  /** Connections per collector process. Default 10. */
  readonly maxConnections?: number;
}

/** Any number would do; it only has to be the same in every collector process. */
const MIGRATION_LOCK_ID = 0x6564_6765;

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
};

const placeholder = (index: number) => `$${index}`;

function storageError(action: string, cause: unknown): EdgeInferError {
  return new EdgeInferError('collector/storage', `PostgreSQL could not ${action}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

/**
 * Many stateless collector processes may share one database: inserts are single statements (atomic
 * on their own), dedupe is the primary key, and migrations run under an advisory lock.
 */
export async function createPostgresStorage(options: PostgresStorageOptions): Promise<CollectorStorage> {
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.maxConnections ?? 10 });
  // An idle client losing its connection (database restart) must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);

  const client = await pool.connect();
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
  // is the same for every batch size and the parameter count stays at 14.
  const insertSql = `INSERT INTO events (${EVENT_COLUMNS.join(', ')})
    SELECT * FROM unnest(${EVENT_COLUMNS.map((column, index) => `$${index + 1}::${COLUMN_TYPES[column]}[]`).join(', ')})
    ON CONFLICT (event_id) DO NOTHING RETURNING event_id`;

  return {
    kind: 'postgres',
    async insertBatch(app, events, receivedAt) {
      const rows = events.map((event) => toEventRow(app, event, receivedAt));
      try {
        const result = await pool.query({ name: 'edgeinfer-insert-events', text: insertSql, values: EVENT_COLUMNS.map((column) => rows.map((row) => row[column])) });
        const acceptedIds = new Set((result.rows as { event_id: string }[]).map((row) => row.event_id));
        return { accepted: acceptedIds.size, duplicates: events.length - acceptedIds.size, acceptedIds };
      } catch (cause) {
        throw storageError('store the batch', cause);
      }
    },
    async stats(query) {
      try {
        return await computeStats(query, placeholder, async (statement) => (await pool.query(statement.text, [...statement.params])).rows as Record<string, unknown>[]);
      } catch (cause) {
        throw storageError('compute stats', cause);
      }
    },
    async devices(since, app) {
      const statement = devicesSql(placeholder, since, app);
      return devicesFromRows((await pool.query(statement.text, [...statement.params])).rows as Record<string, unknown>[]);
    },
    async deleteOlderThan(before) {
      return (await pool.query('DELETE FROM events WHERE ts < $1', [before])).rowCount ?? 0;
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    async close() {
      await pool.end();
    },
  };
}
