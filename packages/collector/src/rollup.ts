import { binsOfRun, encodeBins } from './rollup-bins.js';
import { LATENCY_BINS, PROBABILITY_BINS } from './significance.js';
import { decodeDurations, encodeDurations, mergeSorted, sortDurations } from './sorted-durations.js';
import { RAW_COLUMNS, type Placeholder, type RawRow, type RollupRow, type SqlStatement } from './stats-sql.js';
import { GROUP_COLUMNS } from './storage.js';

/**
 * Minute rollups: per (minute, type, group) the number of events and all their durations as one
 * sorted run, so GET /v1/stats reads ~one row per group-minute instead of every event.
 *
 * A roll-up step folds the events with ingest_seq in [watermark, next) into new segments (no
 * read-modify-write of existing rows) and moves the watermark in the same transaction. Compaction
 * later merges a closed minute's segments into one. No new event can appear below the watermark:
 * SQLite numbers batches inside its write lock, and on PostgreSQL (transaction ids) the watermark
 * never passes the oldest transaction still running.
 */

export const MINUTE_MS = 60_000;
/** Events folded per step at most, so one step never holds the write lock (or the event loop) long. */
export const DEFAULT_ROLLUP_EVENTS = 5_000;
/** A minute is compacted once this long past its end, when late segments have mostly arrived. */
export const COMPACT_AFTER_MS = 2 * MINUTE_MS;

export interface RollupProgress {
  /** Events folded into rollups by this call. */
  readonly events: number;
  /** Closed minutes whose segments were merged (one per type and group). */
  readonly compacted: number;
  /** True when nothing was left to fold or compact. */
  readonly idle: boolean;
}

export const ROLLUP_STATE_SQL = 'SELECT seq_watermark FROM rollup_state WHERE id = 1';

export const ROLLUP_COLUMNS = ['minute', 'type', 'group_key', 'segment', ...GROUP_COLUMNS, 'event_count', 'durations', 'scores', 'duration_bins', 'score_bins', 'score_sum'] as const;

export interface Segment {
  readonly minute: number;
  readonly type: string;
  readonly group_key: string;
  readonly segment: number;
  readonly app: string;
  readonly model_id: string | null;
  readonly model_version: string | null;
  readonly model_variant: string | null;
  readonly backend: string | null;
  readonly event_count: number;
  readonly durations: Buffer | null;
  /** Top-1 probabilities of inferences (1/0 of feedback), sorted; null when none had one. */
  readonly scores: Buffer | null;
  /** Rank-test bin counts of durations / scores (rollup-bins.ts) and the scores' sum: what GET /v1/compare reads. */
  readonly duration_bins: Buffer | null;
  readonly score_bins: Buffer | null;
  readonly score_sum: number | null;
}

/** The compare columns of a segment, from its sorted runs. */
function compareColumns(durations: Float64Array | null, scores: Float64Array | null) {
  let sum = 0;
  if (scores !== null) for (let index = 0; index < scores.length; index += 1) sum += scores[index]!;
  return {
    duration_bins: durations === null ? null : encodeBins(binsOfRun(durations, LATENCY_BINS)),
    score_bins: scores === null ? null : encodeBins(binsOfRun(scores, PROBABILITY_BINS)),
    score_sum: scores === null ? null : sum,
  };
}

/** The first ingest_seq not yet folded, and the one maxEvents rows later (the step's end unless it would be empty). */
export function stepBoundsSql(watermark: number, limit: number, maxEvents: number, placeholder: Placeholder): SqlStatement {
  const range = `FROM events WHERE ingest_seq >= ${placeholder(1)} AND ingest_seq < ${placeholder(2)}`;
  return {
    text: `SELECT (SELECT MIN(ingest_seq) ${range}) AS first, (SELECT ingest_seq ${range} ORDER BY ingest_seq LIMIT 1 OFFSET ${placeholder(3)}) AS cut`,
    params: [watermark, limit, maxEvents],
  };
}

/** Where a step ends: after about maxEvents rows, but always after all rows of the first seq (one batch is never split). */
export function stepEnd(limit: number, bounds: Readonly<Record<string, unknown>>): number | null {
  if (bounds['first'] === null || bounds['first'] === undefined) return null;
  if (bounds['cut'] === null || bounds['cut'] === undefined) return limit;
  const first = Number(bounds['first']);
  const cut = Number(bounds['cut']);
  return cut > first ? cut : first + 1;
}

export function stepRowsSql(from: number, to: number, placeholder: Placeholder): SqlStatement {
  return { text: `SELECT ${RAW_COLUMNS.join(', ')} FROM events WHERE ingest_seq >= ${placeholder(1)} AND ingest_seq < ${placeholder(2)}`, params: [from, to] };
}

const groupKeyOf = (values: readonly unknown[]) => JSON.stringify(values.map((value) => (value === null || value === undefined ? null : String(value))));

/** Raw event rows (RAW_COLUMNS order) -> one segment per (minute, type, group), durations sorted. */
export function segmentsOf(rows: readonly RawRow[], segment: number): Segment[] {
  const parts = new Map<string, { minute: number; type: string; group: readonly unknown[]; count: number; durations: number[]; scores: number[] }>();
  for (const row of rows) {
    const minute = Math.floor(Number(row[6]) / MINUTE_MS) * MINUTE_MS;
    // A plain concatenation: this runs for every event, the JSON group key once per part.
    const key = `${minute}\u0000${row[0]}\u0000${row[1]}\u0000${row[2] ?? '\u0001'}\u0000${row[3] ?? '\u0001'}\u0000${row[4] ?? '\u0001'}\u0000${row[5] ?? '\u0001'}`;
    let part = parts.get(key);
    if (part === undefined) {
      part = { minute, type: String(row[0]), group: row.slice(1, 1 + GROUP_COLUMNS.length), count: 0, durations: [], scores: [] };
      parts.set(key, part);
    }
    part.count += 1;
    if (row[7] !== null && row[7] !== undefined) part.durations.push(Number(row[7]));
    if (row[8] !== null && row[8] !== undefined) part.scores.push(Number(row[8]));
  }
  return [...parts.values()].map(({ minute, type, group, count, durations, scores }) => {
    const sortedDurations = durations.length === 0 ? null : sortDurations(durations);
    const sortedScores = scores.length === 0 ? null : sortDurations(scores);
    return {
      minute,
      type,
      group_key: groupKeyOf(group),
      segment,
      ...groupColumns(group),
      event_count: count,
      durations: sortedDurations === null ? null : encodeDurations(sortedDurations),
      scores: sortedScores === null ? null : encodeDurations(sortedScores),
      ...compareColumns(sortedDurations, sortedScores),
    };
  });
}

function groupColumns(values: readonly unknown[]) {
  const [app, model, version, variant, backend] = values.map((value) => (value === null || value === undefined ? null : String(value)));
  return { app: app ?? '', model_id: model ?? null, model_version: version ?? null, model_variant: variant ?? null, backend: backend ?? null };
}

/** The segments of one minute -> one segment per (type, group) that had more than one, and the keys they replace. */
export function compactSegments(rows: readonly (RollupRow & { group_key: string; segment: number | string; scores: Uint8Array | null })[]): Segment[] {
  const byKey = new Map<string, (RollupRow & { group_key: string; segment: number | string; scores: Uint8Array | null })[]>();
  for (const row of rows) {
    const key = `${row.type}\u0000${row.group_key}`;
    byKey.set(key, [...(byKey.get(key) ?? []), row]);
  }
  const merged: Segment[] = [];
  for (const parts of byKey.values()) {
    if (parts.length < 2) continue;
    const first = parts[0]!;
    const runs = parts.flatMap((part) => (part.durations === null ? [] : [decodeDurations(part.durations)]));
    const scoreRuns = parts.flatMap((part) => (part.scores === null || part.scores === undefined ? [] : [decodeDurations(part.scores)]));
    const durations = runs.length === 0 ? null : mergeSorted(runs);
    const scores = scoreRuns.length === 0 ? null : mergeSorted(scoreRuns);
    merged.push({
      minute: Number(first.minute),
      type: first.type,
      group_key: first.group_key,
      segment: Math.min(...parts.map((part) => Number(part.segment))),
      ...groupColumns([first.app, first.model_id, first.model_version, first.model_variant, first.backend]),
      event_count: parts.reduce((total, part) => total + Number(part.event_count), 0),
      durations: durations === null ? null : encodeDurations(durations),
      scores: scores === null ? null : encodeDurations(scores),
      ...compareColumns(durations, scores),
    });
  }
  return merged;
}

export const DIRTY_MINUTE_SQL = (placeholder: Placeholder) => `SELECT minute FROM rollup_dirty WHERE minute < ${placeholder(1)} ORDER BY minute LIMIT 1`;
export const MINUTE_SEGMENTS_SQL = (placeholder: Placeholder) =>
  `SELECT type, ${GROUP_COLUMNS.join(', ')}, minute, event_count, durations, scores, group_key, segment FROM rollup_minutes WHERE minute = ${placeholder(1)}`;
export const DELETE_KEY_SQL = (placeholder: Placeholder) => `DELETE FROM rollup_minutes WHERE minute = ${placeholder(1)} AND type = ${placeholder(2)} AND group_key = ${placeholder(3)}`;
export const MARK_DIRTY_SQL = (placeholder: Placeholder) => `INSERT INTO rollup_dirty (minute) VALUES (${placeholder(1)}) ON CONFLICT (minute) DO NOTHING`;
export const CLEAR_DIRTY_SQL = (placeholder: Placeholder) => `DELETE FROM rollup_dirty WHERE minute = ${placeholder(1)}`;
export const SET_WATERMARK_SQL = (placeholder: Placeholder) => `UPDATE rollup_state SET seq_watermark = ${placeholder(1)} WHERE id = 1`;
