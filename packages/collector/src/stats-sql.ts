import { decodeDurations, kthSmallest, nearestRank, sortDurations } from './sorted-durations.js';
import { GROUP_COLUMNS, type BucketStats, type GroupKey, type GroupStats, type StatsQuery, type StatsResult } from './storage.js';

export interface SqlStatement {
  readonly text: string;
  readonly params: readonly (string | number)[];
}

export type Placeholder = (index: number) => string;

const PERCENTILES = [50, 95, 99] as const;
const MINUTE_MS = 60_000;

const FILTER_COLUMNS = { app: 'app', model: 'model_id', version: 'model_version', variant: 'model_variant', backend: 'backend' } as const;

/** The columns a raw event row is read with, in this order (rows arrive as arrays). */
export const RAW_COLUMNS = ['type', ...GROUP_COLUMNS, 'ts', 'duration_ms', 'score'] as const;
export type RawRow = readonly unknown[];

export interface RollupRow {
  readonly type: string;
  readonly app: string;
  readonly model_id: string | null;
  readonly model_version: string | null;
  readonly model_variant: string | null;
  readonly backend: string | null;
  readonly minute: number | string;
  readonly event_count: number | string;
  readonly durations: Uint8Array | null;
  /** Only when the plan asked for it (compare). */
  readonly scores?: Uint8Array | null;
}

/** Collects conditions and their parameters for one statement. */
export class Conditions {
  readonly texts: string[] = [];
  readonly params: (string | number)[] = [];
  constructor(private readonly placeholder: Placeholder) {}

  add(sqlWithOneMark: string, value: string | number): this {
    this.params.push(value);
    this.texts.push(sqlWithOneMark.replace('?', this.placeholder(this.params.length)));
    return this;
  }

  /**
   * The query's dimension filters and event type. Heartbeats, logs and feedback are left out unless
   * asked for: they are not inference traffic. `types` (internal) asks for a fixed set.
   */
  addFilters(query: StatsQuery, types?: readonly string[]): this {
    for (const [key, column] of Object.entries(FILTER_COLUMNS)) {
      const value = query[key as keyof typeof FILTER_COLUMNS];
      if (value !== undefined) this.add(`${column} = ?`, value);
    }
    if (query.type !== undefined) this.add('type = ?', query.type);
    else if (types !== undefined) this.texts.push(`type IN (${types.map((type) => `'${type}'`).join(', ')})`);
    else this.texts.push("type NOT IN ('heartbeat', 'log', 'feedback')");
    return this;
  }

  /**
   * Only these groups (a page of them). `=` for values and `IS NULL` for nulls, so both databases can
   * still use their indexes and a null dimension matches only a null.
   */
  addGroups(groups: readonly GroupKey[]): this {
    const terms = groups.map((group) => {
      const values = [group.app, group.model, group.version, group.variant, group.backend];
      return `(${GROUP_COLUMNS.map((column, index) => {
        const value = values[index];
        if (value === null || value === undefined) return `${column} IS NULL`;
        this.params.push(value);
        return `${column} = ${this.placeholder(this.params.length)}`;
      }).join(' AND ')})`;
    });
    this.texts.push(terms.length === 0 ? '1 = 0' : `(${terms.join(' OR ')})`);
    return this;
  }

  /** Adds a parameter and returns its placeholder. */
  param(value: string | number): string {
    this.params.push(value);
    return this.placeholder(this.params.length);
  }

  statement(select: string): SqlStatement {
    return { text: `${select} WHERE ${this.texts.join(' AND ')}`, params: this.params };
  }
}

/**
 * Which rows answer a query. Whole minutes come from the rollups, which hold every event with
 * ingest_seq below the watermark; the rest is read raw: the partial minutes at both ends of the
 * range, and events that arrived after the last roll-up. Nothing is in both.
 */
export interface StatsPlan {
  readonly rollups: SqlStatement | null;
  readonly raw: readonly SqlStatement[];
}

export interface StatsPlanOptions {
  readonly types?: readonly string[];
  readonly scores?: boolean;
  readonly rollupColumns?: string;
  /** Columns of the raw statements (RAW_COLUMNS when not given). */
  readonly rawColumns?: string;
  /** Only the rows of these groups. */
  readonly groups?: readonly GroupKey[];
}

export function statsPlan(query: StatsQuery, seqWatermark: number, placeholder: Placeholder, options: StatsPlanOptions = {}): StatsPlan {
  const types = options.types;
  const filtered = (conditions: Conditions) => (options.groups === undefined ? conditions.addFilters(query, types) : conditions.addFilters(query, types).addGroups(options.groups));
  // Rollup rows carry their group's key (rollup.ts groupKeyOf): one IN list instead of an OR per group.
  const rollupFiltered = (conditions: Conditions) => {
    conditions.addFilters(query, types);
    if (options.groups === undefined) return conditions;
    const keys = options.groups.map((group) => conditions.param(groupKey(group)));
    conditions.texts.push(keys.length === 0 ? '1 = 0' : `group_key IN (${keys.join(', ')})`);
    return conditions;
  };
  // A minute rollup fits a bucket only if buckets are whole minutes.
  const minutesFit = query.bucketMs === undefined || query.bucketMs % MINUTE_MS === 0;
  const firstMinute = Math.ceil(query.from / MINUTE_MS) * MINUTE_MS;
  const endMinute = Math.floor(query.to / MINUTE_MS) * MINUTE_MS;
  const rawSelect = `SELECT ${options.rawColumns ?? RAW_COLUMNS.join(', ')} FROM events`;
  const rawRange = (from: number, to: number) => filtered(new Conditions(placeholder).add('ts >= ?', from).add('ts < ?', to)).statement(rawSelect);
  if (!minutesFit || firstMinute >= endMinute) return { rollups: null, raw: [rawRange(query.from, query.to)] };

  const raw: SqlStatement[] = [];
  if (query.from < firstMinute) raw.push(rawRange(query.from, firstMinute));
  if (endMinute < query.to) raw.push(rawRange(endMinute, query.to));
  raw.push(filtered(new Conditions(placeholder).add('ingest_seq >= ?', seqWatermark).add('ts >= ?', firstMinute).add('ts < ?', endMinute)).statement(rawSelect));
  const rollups = rollupFiltered(new Conditions(placeholder).add('minute >= ?', firstMinute).add('minute < ?', endMinute)).statement(`SELECT ${options.rollupColumns ?? `type, ${GROUP_COLUMNS.join(', ')}, minute, event_count, durations${options.scores === true ? ', scores' : ''}`} FROM rollup_minutes`);
  return { rollups, raw };
}

/** The key a group's rollup rows carry in group_key (rollup.ts groupKeyOf), and the key stats sort groups by. */
export const groupKey = (group: GroupKey) => JSON.stringify([group.app, group.model, group.version, group.variant, group.backend]);

/**
 * The event count of every group a query matches, from the same rows as statsPlan (so the same
 * snapshot gives the same counts) but summed by the database: no durations are read. Rollup rows
 * are [group_key, count], one per group; raw rows [app, model, version, variant, backend, count].
 */
export function groupCountsPlan(query: StatsQuery, seqWatermark: number, placeholder: Placeholder): { readonly rollups: SqlStatement | null; readonly raw: readonly SqlStatement[] } {
  const plan = statsPlan(query, seqWatermark, placeholder, { rollupColumns: 'group_key, SUM(event_count)', rawColumns: `${GROUP_COLUMNS.join(', ')}, COUNT(*)` });
  const groupBy = (statement: SqlStatement, columns: string) => ({ text: `${statement.text} GROUP BY ${columns}`, params: statement.params });
  return { rollups: plan.rollups === null ? null : groupBy(plan.rollups, 'group_key'), raw: plan.raw.map((statement) => groupBy(statement, GROUP_COLUMNS.join(', '))) };
}

/** The type whose durations the percentiles describe. */
export function latencyType(query: StatsQuery): 'inference' | 'load' | null {
  if (query.type === undefined || query.type === 'inference') return 'inference';
  return query.type === 'load' ? 'load' : null;
}

interface Accumulator {
  readonly app: string;
  readonly model: string | null;
  readonly version: string | null;
  readonly variant: string | null;
  readonly backend: string | null;
  readonly bucketStart: number | null;
  count: number;
  inferences: number;
  errors: number;
  fallbacks: number;
  readonly runs: Float64Array[];
  readonly loose: number[];
}

const text = (value: unknown) => (value === null || value === undefined ? null : String(value));

class Groups {
  readonly entries = new Map<string, Accumulator>();
  constructor(
    private readonly bucketMs: number | null,
    private readonly latency: string | null,
  ) {}

  private entry(values: readonly unknown[], ts: number): Accumulator {
    const bucketStart = this.bucketMs === null ? null : Math.floor(ts / this.bucketMs) * this.bucketMs;
    const key = JSON.stringify([...values, bucketStart]);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const [app, model, version, variant, backend] = values;
      entry = { app: String(app), model: text(model), version: text(version), variant: text(variant), backend: text(backend), bucketStart, count: 0, inferences: 0, errors: 0, fallbacks: 0, runs: [], loose: [] };
      this.entries.set(key, entry);
    }
    return entry;
  }

  private count(entry: Accumulator, type: unknown, events: number) {
    entry.count += events;
    if (type === 'inference') entry.inferences += events;
    else if (type === 'error') entry.errors += events;
    else if (type === 'fallback') entry.fallbacks += events;
  }

  addRollup(row: RollupRow, durations: Float64Array | null) {
    const entry = this.entry([row.app, row.model_id, row.model_version, row.model_variant, row.backend], Number(row.minute));
    this.count(entry, row.type, Number(row.event_count));
    if (row.type === this.latency && durations !== null && durations.length > 0) entry.runs.push(durations);
  }

  addRaw(row: RawRow) {
    const entry = this.entry(row.slice(1, 1 + GROUP_COLUMNS.length), Number(row[6]));
    this.count(entry, row[0], 1);
    if (row[0] === this.latency && row[7] !== null && row[7] !== undefined) entry.loose.push(Number(row[7]));
  }

  stats(windowMs: number): (GroupStats & { bucketStart?: number })[] {
    return [...this.entries.values()].map((entry) => {
      const runs = entry.loose.length > 0 ? [...entry.runs, sortDurations(entry.loose)] : entry.runs;
      const samples = runs.reduce((total, run) => total + run.length, 0);
      const percentile = (p: number) => (samples === 0 ? null : kthSmallest(runs, nearestRank(p, samples)));
      const { app, model, version, variant, backend, bucketStart, count, inferences, errors, fallbacks } = entry;
      return {
        app,
        model,
        version,
        variant,
        backend,
        ...(bucketStart === null ? {} : { bucketStart }),
        count,
        inferences,
        errors,
        fallbacks,
        errorRate: inferences + errors === 0 ? 0 : errors / (inferences + errors),
        fallbackRate: inferences === 0 ? 0 : fallbacks / inferences,
        qps: count / (windowMs / 1000),
        p50: percentile(PERCENTILES[0]),
        p95: percentile(PERCENTILES[1]),
        p99: percentile(PERCENTILES[2]),
      };
    });
  }
}

const byKey = (a: GroupStats & { bucketStart?: number }, b: GroupStats & { bucketStart?: number }) =>
  (a.bucketStart ?? 0) - (b.bucketStart ?? 0) || JSON.stringify([a.app, a.model, a.version, a.variant, a.backend]).localeCompare(JSON.stringify([b.app, b.model, b.version, b.variant, b.backend]));

/**
 * Counts, rates and exact nearest-rank percentiles per group (and per bucket) from the rows a
 * StatsPlan read. Percentiles select across the rollups' sorted runs without merging them.
 */
export function summarizeStats(query: StatsQuery, rollupRows: readonly RollupRow[], rawRows: readonly RawRow[]): StatsResult {
  const latency = latencyType(query);
  const overall = new Groups(null, latency);
  const buckets = query.bucketMs === undefined ? null : new Groups(query.bucketMs, latency);
  for (const row of rollupRows) {
    const durations = row.type === latency && row.durations !== null ? decodeDurations(row.durations) : null;
    overall.addRollup(row, durations);
    buckets?.addRollup(row, durations);
  }
  for (const row of rawRows) {
    overall.addRaw(row);
    buckets?.addRaw(row);
  }
  return {
    from: query.from,
    to: query.to,
    bucketMs: query.bucketMs ?? null,
    groups: overall.stats(query.to - query.from).sort(byKey),
    buckets: (buckets?.stats(query.bucketMs!).sort(byKey) ?? []) as BucketStats[],
  };
}
