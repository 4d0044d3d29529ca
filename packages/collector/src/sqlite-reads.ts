import type Database from 'better-sqlite3';
import { auditFromRows, auditSql, type AuditEntry, type AuditQuery } from './audit.js';
import { comparePlans, prepareCompare, sampleOf, type CompareQuery, type CompareResult, type CompareRollupRow } from './compare.js';
import { slicesInOrder, sqliteSlicesSql } from './compare-slices.js';
import { logsFromRows, logsSql, type LogQuery, type LogRecord } from './logs.js';
import { devicesFromRows, devicesSql } from './devices-sql.js';
import { ROLLUP_STATE_SQL } from './rollup.js';
import { pagedResult, rankGroups } from './stats-page.js';
import { groupCountsPlan, statsPlan, summarizeStats, type RawRow, type RollupRow, type SqlStatement } from './stats-sql.js';
import type { DeviceStatus, GroupKey, StatsQuery, StatsResult } from './storage.js';

/**
 * The read queries of the SQLite storage, written against any connection so the same code runs on
 * the writer's connection (`:memory:`) and on a query thread's own read-only connection.
 */
export interface SqliteReads {
  stats(query: StatsQuery): StatsResult;
  devices(since: number, app?: string): DeviceStatus[];
  compare(query: CompareQuery): CompareResult;
  logs(query: LogQuery): LogRecord[];
  audit(query: AuditQuery): AuditEntry[];
}

// Numbered parameters (?1), as the shared SQL repeats some; better-sqlite3 binds them by name.
export const sqlitePlaceholder = (index: number) => `?${index}`;
export const bindNumbered = (params: readonly unknown[]) => Object.fromEntries(params.map((value, index) => [index + 1, value]));

export function createSqliteReads(db: Database.Database): SqliteReads {
  const all = (statement: SqlStatement) => db.prepare(statement.text).all(bindNumbered(statement.params)) as Record<string, unknown>[];
  const allRaw = (statement: SqlStatement) => db.prepare(statement.text).raw().all(bindNumbered(statement.params)) as RawRow[];
  // One read transaction: the watermark, the rollups and the raw rows are one snapshot.
  // With a page, the counts rank the groups first and only the page's groups are summarized.
  const readStats = db.transaction((query: StatsQuery) => {
    const watermark = Number(db.prepare(ROLLUP_STATE_SQL).pluck().get());
    const summarize = (groups?: readonly GroupKey[]) => {
      const plan = statsPlan(query, watermark, sqlitePlaceholder, groups === undefined ? {} : { groups });
      const rollupRows = plan.rollups === null ? [] : (all(plan.rollups) as unknown as RollupRow[]);
      return summarizeStats(query, rollupRows, plan.raw.flatMap(allRaw));
    };
    if (query.page === undefined) return summarize();
    const counts = groupCountsPlan(query, watermark, sqlitePlaceholder);
    const ranked = rankGroups(counts.rollups === null ? [] : allRaw(counts.rollups), counts.raw.flatMap(allRaw), query.page);
    return pagedResult(ranked.groups.length === 0 ? summarizeStats(query, [], []) : summarize(ranked.groups), ranked, query.page);
  });
  // Counts and bins, then the values of the percentiles' bins: both reads in one snapshot.
  const readCompare = db.transaction((query: CompareQuery) => {
    const plans = comparePlans(query, Number(db.prepare(ROLLUP_STATE_SQL).pluck().get()), sqlitePlaceholder);
    const [candidate, baseline] = plans.map((plan) => sampleOf(plan.rollups === null ? [] : (all(plan.rollups) as unknown as CompareRollupRow[]), plan.raw.flatMap(allRaw)));
    const prepared = prepareCompare(query, candidate!, baseline!);
    return prepared.finish(prepared.slices.length === 0 ? [] : slicesInOrder(prepared.slices.length, all(sqliteSlicesSql(prepared.slices))));
  });
  return {
    stats: (query) => readStats(query),
    compare: (query) => readCompare(query),
    logs: (query) => logsFromRows(all(logsSql(query, sqlitePlaceholder))),
    audit: (query) => auditFromRows(all(auditSql(query, sqlitePlaceholder))),
    devices(since, app) {
      const statement = devicesSql(() => '?', since, app);
      return devicesFromRows(db.prepare(statement.text).all(...statement.params) as Record<string, unknown>[]);
    },
  };
}
