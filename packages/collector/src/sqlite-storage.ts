import Database from 'better-sqlite3';
import { EdgeInferError } from '@edgeinfer/core';
import { MIGRATIONS, MIGRATIONS_TABLE_SQL } from './migrations.js';
import { computeStats } from './stats-sql.js';
import { EVENT_COLUMNS, toEventRow, type CollectorStorage, type DeviceStatus } from './storage.js';
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

  const insert = db.prepare(
    `INSERT INTO events (${EVENT_COLUMNS.join(', ')}) VALUES (${EVENT_COLUMNS.map((column) => `@${column}`).join(', ')}) ON CONFLICT (event_id) DO NOTHING`,
  );
  const insertAll = db.transaction((rows: ReturnType<typeof toEventRow>[]) => {
    const accepted = new Set<string>();
    for (const row of rows) if (insert.run(row).changes === 1) accepted.add(row.event_id);
    return accepted;
  });

  return {
    kind: 'sqlite',
    async insertBatch(app, events, receivedAt) {
      try {
        // better-sqlite3 is synchronous: when this returns, the transaction is committed.
        const acceptedIds = insertAll(events.map((event) => toEventRow(app, event, receivedAt)));
        return { accepted: acceptedIds.size, duplicates: events.length - acceptedIds.size, acceptedIds };
      } catch (cause) {
        throw storageError('store the batch', cause);
      }
    },
    async stats(query) {
      try {
        return await computeStats(query, () => '?', async (statement) => db.prepare(statement.text).all(...statement.params) as Record<string, unknown>[], {
          percentiles: 'rank-lookup',
        });
      } catch (cause) {
        throw storageError('compute stats', cause);
      }
    },
    async devices(since, app): Promise<DeviceStatus[]> {
      const statement = devicesSql(() => '?', since, app);
      return devicesFromRows(db.prepare(statement.text).all(...statement.params) as Record<string, unknown>[]);
    },
    async deleteOlderThan(before) {
      return db.prepare('DELETE FROM events WHERE ts < ?').run(before).changes;
    },
    async ping() {
      db.prepare('SELECT 1').get();
    },
    async close() {
      if (db.open) db.close();
    },
  };
}
