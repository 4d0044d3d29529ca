import type Database from 'better-sqlite3';
import { devicesFromRows, devicesSql } from './devices-sql.js';
import { ROLLUP_STATE_SQL } from './rollup.js';
import { statsPlan, summarizeStats, type RawRow, type RollupRow, type SqlStatement } from './stats-sql.js';
import type { DeviceStatus, StatsQuery, StatsResult } from './storage.js';

/**
 * The read queries of the SQLite storage, written against any connection so the same code runs on
 * the writer's connection (`:memory:`) and on a query thread's own read-only connection.
 */
export interface SqliteReads {
  stats(query: StatsQuery): StatsResult;
  devices(since: number, app?: string): DeviceStatus[];
}

// Numbered parameters (?1), as the shared SQL repeats some; better-sqlite3 binds them by name.
export const sqlitePlaceholder = (index: number) => `?${index}`;
export const bindNumbered = (params: readonly unknown[]) => Object.fromEntries(params.map((value, index) => [index + 1, value]));

export function createSqliteReads(db: Database.Database): SqliteReads {
  const all = (statement: SqlStatement) => db.prepare(statement.text).all(bindNumbered(statement.params)) as Record<string, unknown>[];
  const allRaw = (statement: SqlStatement) => db.prepare(statement.text).raw().all(bindNumbered(statement.params)) as RawRow[];
  // One read transaction: the watermark, the rollups and the raw rows are one snapshot.
  const readStats = db.transaction((query: StatsQuery) => {
    const plan = statsPlan(query, Number(db.prepare(ROLLUP_STATE_SQL).pluck().get()), sqlitePlaceholder);
    const rollupRows = plan.rollups === null ? [] : (all(plan.rollups) as unknown as RollupRow[]);
    return summarizeStats(query, rollupRows, plan.raw.flatMap(allRaw));
  });
  return {
    stats: (query) => readStats(query),
    devices(since, app) {
      const statement = devicesSql(() => '?', since, app);
      return devicesFromRows(db.prepare(statement.text).all(...statement.params) as Record<string, unknown>[]);
    },
  };
}
