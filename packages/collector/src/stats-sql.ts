import { GROUP_COLUMNS, type BucketStats, type GroupStats, type StatsQuery, type StatsResult } from './storage.js';

export interface SqlStatement {
  readonly text: string;
  readonly params: readonly (string | number)[];
}

/** The percentiles reported, as integers so the nearest rank is exact integer arithmetic in SQL. */
const PERCENTILES = [50, 95, 99] as const;

const FILTER_COLUMNS = { app: 'app', model: 'model_id', version: 'model_version', variant: 'model_variant', backend: 'backend' } as const;

function whereClause(query: StatsQuery, placeholder: (index: number) => string, extra: { type?: string } = {}): SqlStatement {
  const conditions: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, value: string | number) => {
    params.push(value);
    conditions.push(sql.replace('?', placeholder(params.length)));
  };
  add('ts >= ?', query.from);
  add('ts < ?', query.to);
  for (const [key, column] of Object.entries(FILTER_COLUMNS)) {
    const value = query[key as keyof typeof FILTER_COLUMNS];
    if (value !== undefined) add(`${column} = ?`, value);
  }
  const type = extra.type ?? query.type;
  if (type !== undefined) add('type = ?', type);
  else conditions.push("type <> 'heartbeat'");
  return { text: conditions.join(' AND '), params };
}

function groupColumns(bucketMs: number | undefined): string[] {
  // bucketMs is a validated positive integer, inlined so both databases see integer division.
  return bucketMs === undefined ? [...GROUP_COLUMNS] : [...GROUP_COLUMNS, `(ts / ${bucketMs}) * ${bucketMs} AS bucket`];
}

function groupBy(bucketMs: number | undefined): string {
  return bucketMs === undefined ? GROUP_COLUMNS.join(', ') : `${GROUP_COLUMNS.join(', ')}, bucket`;
}

/** The type whose durations the percentiles describe. */
export function latencyType(query: StatsQuery): 'inference' | 'load' | null {
  if (query.type === undefined || query.type === 'inference') return 'inference';
  return query.type === 'load' ? 'load' : null;
}

export function countsSql(query: StatsQuery, bucketMs: number | undefined, placeholder: (index: number) => string): SqlStatement {
  const where = whereClause(query, placeholder);
  return {
    text: `SELECT ${groupColumns(bucketMs).join(', ')}, COUNT(*) AS n,
      SUM(CASE WHEN type = 'inference' THEN 1 ELSE 0 END) AS inferences,
      SUM(CASE WHEN type = 'error' THEN 1 ELSE 0 END) AS errors,
      SUM(CASE WHEN type = 'fallback' THEN 1 ELSE 0 END) AS fallbacks
      FROM events WHERE ${where.text} GROUP BY ${groupBy(bucketMs)}`,
    params: where.params,
  };
}

/**
 * Nearest-rank percentiles: the value at rank ceil(p/100 * n) of the sorted durations, computed as
 * (p*n + 99) / 100 in integer arithmetic so there is no float rounding to disagree about. Window
 * functions behave the same in SQLite and PostgreSQL, so one statement serves both.
 */
export function percentilesSql(query: StatsQuery, type: 'inference' | 'load', bucketMs: number | undefined, placeholder: (index: number) => string): SqlStatement {
  const where = whereClause(query, placeholder, { type });
  const partition = groupBy(bucketMs);
  const picks = PERCENTILES.map((p) => `MAX(CASE WHEN rn = (${p} * cnt + 99) / 100 THEN duration_ms END) AS p${p}`).join(', ');
  return {
    text: `SELECT ${partition}, ${picks} FROM (
      SELECT ${groupColumns(bucketMs).join(', ')}, duration_ms,
        ROW_NUMBER() OVER (PARTITION BY ${groupColumns(bucketMs).map((column) => column.replace(/ AS bucket$/, '')).join(', ')} ORDER BY duration_ms) AS rn,
        COUNT(*) OVER (PARTITION BY ${groupColumns(bucketMs).map((column) => column.replace(/ AS bucket$/, '')).join(', ')}) AS cnt
      FROM events WHERE ${where.text} AND duration_ms IS NOT NULL
    ) ranked GROUP BY ${partition}`,
    params: where.params,
  };
}

type Row = Record<string, unknown>;

const keyOf = (row: Row, withBucket: boolean) =>
  JSON.stringify([...GROUP_COLUMNS.map((column) => row[column] ?? null), withBucket ? Number(row['bucket']) : null]);

const numberOrNull = (value: unknown) => (value === null || value === undefined ? null : Number(value));

function assemble(countRows: readonly Row[], percentileRows: readonly Row[], windowMs: number, withBucket: boolean): (GroupStats & { bucketStart?: number })[] {
  const percentiles = new Map(percentileRows.map((row) => [keyOf(row, withBucket), row]));
  return countRows.map((row) => {
    const ranks = percentiles.get(keyOf(row, withBucket));
    const count = Number(row['n']);
    const inferences = Number(row['inferences']);
    const errors = Number(row['errors']);
    const fallbacks = Number(row['fallbacks']);
    return {
      app: String(row['app']),
      model: (row['model_id'] as string | null) ?? null,
      version: (row['model_version'] as string | null) ?? null,
      variant: (row['model_variant'] as string | null) ?? null,
      backend: (row['backend'] as string | null) ?? null,
      ...(withBucket ? { bucketStart: Number(row['bucket']) } : {}),
      count,
      inferences,
      errors,
      fallbacks,
      errorRate: inferences + errors === 0 ? 0 : errors / (inferences + errors),
      fallbackRate: inferences === 0 ? 0 : fallbacks / inferences,
      qps: count / (windowMs / 1000),
      p50: numberOrNull(ranks?.['p50']),
      p95: numberOrNull(ranks?.['p95']),
      p99: numberOrNull(ranks?.['p99']),
    };
  });
}

const byKey = (a: GroupStats & { bucketStart?: number }, b: GroupStats & { bucketStart?: number }) =>
  (a.bucketStart ?? 0) - (b.bucketStart ?? 0) || JSON.stringify([a.app, a.model, a.version, a.variant, a.backend]).localeCompare(JSON.stringify([b.app, b.model, b.version, b.variant, b.backend]));

/** Runs the statements through `run` (one database's query function) and shapes the answer. */
export async function computeStats(query: StatsQuery, placeholder: (index: number) => string, run: (statement: SqlStatement) => Promise<Row[]>): Promise<StatsResult> {
  const type = latencyType(query);
  const passes = query.bucketMs === undefined ? [undefined] : [undefined, query.bucketMs];
  const [groups = [], buckets = []] = await Promise.all(
    passes.map(async (bucketMs) => {
      const [counts, ranks] = await Promise.all([
        run(countsSql(query, bucketMs, placeholder)),
        type === null ? Promise.resolve([]) : run(percentilesSql(query, type, bucketMs, placeholder)),
      ]);
      return assemble(counts, ranks, bucketMs ?? query.to - query.from, bucketMs !== undefined).sort(byKey);
    }),
  );
  return { from: query.from, to: query.to, bucketMs: query.bucketMs ?? null, groups, buckets: buckets as BucketStats[] };
}
