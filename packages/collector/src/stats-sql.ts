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

/**
 * Counts per type as well as per group: with the events_by_group index the rows then arrive in
 * GROUP BY order, so SQLite needs no temporary B-tree over the whole range; the types are summed in JS.
 */
export function countsSql(query: StatsQuery, bucketMs: number | undefined, placeholder: (index: number) => string): SqlStatement {
  const where = whereClause(query, placeholder);
  return {
    text: `SELECT type, ${groupColumns(bucketMs).join(', ')}, COUNT(*) AS n,
      SUM(CASE WHEN duration_ms IS NOT NULL THEN 1 ELSE 0 END) AS samples
      FROM events WHERE ${where.text} GROUP BY type, ${groupBy(bucketMs)}`,
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

/** How percentiles are found: one window-function statement, or per-group index lookups. */
export type PercentileStrategy = 'window' | 'rank-lookup';

interface GroupCounts {
  readonly key: Row;
  n: number;
  inferences: number;
  errors: number;
  fallbacks: number;
  /** Rows of the latency type with a duration: the population the percentiles rank. */
  samples: number;
}

const keyOf = (row: Row, withBucket: boolean) =>
  JSON.stringify([...GROUP_COLUMNS.map((column) => row[column] ?? null), withBucket ? Number(row['bucket']) : null]);

const numberOrNull = (value: unknown) => (value === null || value === undefined ? null : Number(value));

/** Folds the per-type count rows into one entry per group (and bucket). */
function mergeCounts(countRows: readonly Row[], latency: 'inference' | 'load' | null, withBucket: boolean): Map<string, GroupCounts> {
  const merged = new Map<string, GroupCounts>();
  for (const row of countRows) {
    const key = keyOf(row, withBucket);
    let entry = merged.get(key);
    if (entry === undefined) {
      entry = { key: row, n: 0, inferences: 0, errors: 0, fallbacks: 0, samples: 0 };
      merged.set(key, entry);
    }
    const n = Number(row['n']);
    entry.n += n;
    if (row['type'] === 'inference') entry.inferences += n;
    if (row['type'] === 'error') entry.errors += n;
    if (row['type'] === 'fallback') entry.fallbacks += n;
    if (row['type'] === latency) entry.samples += Number(row['samples']);
  }
  return merged;
}

/**
 * The value at nearest rank k of one group, by walking its index entries in duration order from
 * whichever end is nearer (p99 walks 1% of the rows, not 99%). Needs events_by_group.
 */
function rankLookupSql(group: GroupCounts, type: 'inference' | 'load', range: { from: number; to: number }, rank: number, placeholder: (index: number) => string): SqlStatement {
  const params: (string | number)[] = [type];
  const conditions = ['type = ' + placeholder(1)];
  for (const column of GROUP_COLUMNS) {
    const value = group.key[column];
    if (value === null || value === undefined) conditions.push(`${column} IS NULL`);
    else {
      params.push(String(value));
      conditions.push(`${column} = ${placeholder(params.length)}`);
    }
  }
  params.push(range.from);
  conditions.push(`ts >= ${placeholder(params.length)}`);
  params.push(range.to);
  conditions.push(`ts < ${placeholder(params.length)}`);
  const fromTop = group.samples - rank < rank - 1;
  params.push(fromTop ? group.samples - rank : rank - 1);
  return {
    text: `SELECT duration_ms FROM events WHERE ${conditions.join(' AND ')} AND duration_ms IS NOT NULL ORDER BY duration_ms ${fromTop ? 'DESC' : 'ASC'} LIMIT 1 OFFSET ${placeholder(params.length)}`,
    params,
  };
}

async function lookupPercentiles(
  groups: Map<string, GroupCounts>,
  query: StatsQuery,
  type: 'inference' | 'load',
  bucketMs: number | undefined,
  placeholder: (index: number) => string,
  run: (statement: SqlStatement) => Promise<Row[]>,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const group of groups.values()) {
    if (group.samples === 0) continue;
    const bucket = bucketMs === undefined ? undefined : Number(group.key['bucket']);
    const range = bucket === undefined ? { from: query.from, to: query.to } : { from: Math.max(query.from, bucket), to: Math.min(query.to, bucket + bucketMs!) };
    const row: Row = { ...group.key };
    for (const p of PERCENTILES) {
      const rank = Math.floor((p * group.samples + 99) / 100);
      row[`p${p}`] = (await run(rankLookupSql(group, type, range, rank, placeholder)))[0]?.['duration_ms'] ?? null;
    }
    rows.push(row);
  }
  return rows;
}

function assemble(groups: Map<string, GroupCounts>, percentileRows: readonly Row[], windowMs: number, withBucket: boolean): (GroupStats & { bucketStart?: number })[] {
  const percentiles = new Map(percentileRows.map((row) => [keyOf(row, withBucket), row]));
  return [...groups.entries()].map(([key, { key: row, n: count, inferences, errors, fallbacks }]) => {
    const ranks = percentiles.get(key);
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

/**
 * Runs the statements through `run` (one database's query function) and shapes the answer.
 * 'rank-lookup' (overall groups only) suits an embedded database, where a statement costs
 * microseconds: three index walks per group beat ranking every row. Over a network, and for time
 * buckets, the one window statement is used.
 */
export async function computeStats(
  query: StatsQuery,
  placeholder: (index: number) => string,
  run: (statement: SqlStatement) => Promise<Row[]>,
  options: { readonly percentiles?: PercentileStrategy } = {},
): Promise<StatsResult> {
  const type = latencyType(query);
  const passes = query.bucketMs === undefined ? [undefined] : [undefined, query.bucketMs];
  const [groups = [], buckets = []] = await Promise.all(
    passes.map(async (bucketMs) => {
      const withBucket = bucketMs !== undefined;
      let counts: Map<string, GroupCounts>;
      let ranks: Row[];
      // Per-bucket lookups would each walk the whole group's durations to find rows of one bucket.
      if (options.percentiles === 'rank-lookup' && !withBucket) {
        counts = mergeCounts(await run(countsSql(query, bucketMs, placeholder)), type, withBucket);
        ranks = type === null ? [] : await lookupPercentiles(counts, query, type, bucketMs, placeholder, run);
      } else {
        const [countRows, rankRows] = await Promise.all([
          run(countsSql(query, bucketMs, placeholder)),
          type === null ? Promise.resolve([]) : run(percentilesSql(query, type, bucketMs, placeholder)),
        ]);
        counts = mergeCounts(countRows, type, withBucket);
        ranks = rankRows;
      }
      return assemble(counts, ranks, bucketMs ?? query.to - query.from, withBucket).sort(byKey);
    }),
  );
  return { from: query.from, to: query.to, bucketMs: query.bucketMs ?? null, groups, buckets: buckets as BucketStats[] };
}
