import { EdgeInferError } from '@edgeinfer/core';
import { groupKey } from './stats-sql.js';
import type { GroupKey, StatsResult } from './storage.js';

/** `limit`/`offset`/`search` of GET /v1/stats: the top groups by event count, a page at a time. */
export interface StatsPage {
  readonly limit: number;
  readonly offset: number;
  readonly search: string | undefined;
}

export const PAGE_PARAMETERS = ['limit', 'offset', 'search'] as const;
const MAX_LIMIT = 1000;

function invalid(parameter: string, message: string): EdgeInferError {
  return new EdgeInferError('collector/invalid-query', `Query parameter "${parameter}" ${message}.`, { details: { parameter } });
}

function count(value: unknown, parameter: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{1,9}$/.test(value)) throw invalid(parameter, 'must be given once, as a whole number');
  const number = Number(value);
  if (number > max) throw invalid(parameter, `must be at most ${max}`);
  return number;
}

/** Splits the page parameters off a query; null page when none was given (every group, as before). */
export function parseStatsPage(query: Record<string, unknown>): { page: StatsPage | null; rest: Record<string, unknown> } {
  const { limit, offset, search, ...rest } = query;
  if (limit === undefined && offset === undefined && search === undefined) return { page: null, rest };
  if (search !== undefined && (typeof search !== 'string' || search.length > 200)) throw invalid('search', 'must be given once, at most 200 characters');
  return { page: { limit: count(limit, 'limit', MAX_LIMIT) ?? 50, offset: count(offset, 'offset', 1e9) ?? 0, search: search === '' ? undefined : (search as string | undefined) }, rest };
}

const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
// localeCompare without locales or options is this collator's compare (ECMA-402); made once, it is cheaper.
const collator = new Intl.Collator();

interface Counted {
  /** groupKey of the group: JSON of its five dimensions. */
  readonly key: string;
  count: number;
}

const groupOf = (key: string): GroupKey => {
  const [app, model, version, variant, backend] = JSON.parse(key) as unknown[];
  return { app: String(app), model: text(model), version: text(version), variant: text(variant), backend: text(backend) };
};

/** Busiest first; ties in the key order summarizeStats sorts groups in (so the ranking is the one a stable sort of its groups gave). */
const byRank = (a: Counted, b: Counted) => b.count - a.count || collator.compare(a.key, b.key);

/** The first `n` of `items` in `order`, without sorting them all when n is small (a page of 50,000 ties). */
function firstInOrder<T>(items: readonly T[], n: number, order: (a: T, b: T) => number): T[] {
  if (n <= 0) return [];
  if (n * 8 >= items.length) return [...items].sort(order).slice(0, n);
  const kept: T[] = [];
  for (const item of items) {
    if (kept.length === n && order(item, kept[n - 1]!) >= 0) continue;
    let low = 0;
    let high = kept.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      // Equal items go after those kept before them, as a stable sort would place them.
      if (order(item, kept[middle]!) < 0) high = middle;
      else low = middle + 1;
    }
    kept.splice(low, 0, item);
    if (kept.length > n) kept.pop();
  }
  return kept;
}

export interface RankedPage {
  /** The page's groups in rank order. */
  readonly groups: readonly GroupKey[];
  /** Groups matching the query and the search, all of them. */
  readonly totalGroups: number;
}

/**
 * Ranks groups by event count from groupCountsPlan's rows ([...group, count]) and picks the page, so
 * percentiles and buckets are then computed only for the page's groups. The search matches as it
 * always did (a substring of a dimension, any case), in JavaScript rather than SQL, whose LIKE folds
 * case differently per database.
 */
export function rankGroups(rollupRows: readonly (readonly unknown[])[], rawRows: readonly (readonly unknown[])[], page: StatsPage): RankedPage {
  // Rollup rows come one per group; raw rows (partial minutes, not yet rolled up) are few and are
  // added to them, so the map holds only the raw groups.
  const raw = new Map<string, Counted>();
  for (const row of rawRows) {
    const key = groupKey({ app: String(row[0]), model: text(row[1]), version: text(row[2]), variant: text(row[3]), backend: text(row[4]) });
    const entry = raw.get(key);
    if (entry === undefined) raw.set(key, { key, count: Number(row[5]) });
    else entry.count += Number(row[5]);
  }
  const all: Counted[] = [];
  for (const row of rollupRows) {
    const key = String(row[0]);
    const extra = raw.get(key);
    if (extra !== undefined) raw.delete(key);
    all.push({ key, count: Number(row[1]) + (extra?.count ?? 0) });
  }
  all.push(...raw.values());
  const needle = page.search?.toLowerCase();
  const matches = (group: GroupKey) => [group.app, group.model, group.version, group.variant, group.backend].some((value) => value !== null && value.toLowerCase().includes(needle!));
  const matching = needle === undefined ? all : all.filter(({ key }) => matches(groupOf(key)));
  const end = Math.min(page.offset + page.limit, matching.length);
  if (page.offset >= end) return { groups: [], totalGroups: matching.length };
  // Only groups whose count can reach the page need ordering by key: those between the page's
  // highest and lowest count. Counts alone place everything busier or quieter.
  const counts = matching.map((entry) => entry.count).sort((a, b) => b - a);
  const highest = counts[page.offset]!;
  const lowest = counts[end - 1]!;
  const busier = counts.findIndex((count) => count <= highest);
  const candidates = matching.filter((entry) => entry.count <= highest && entry.count >= lowest);
  const ordered = firstInOrder(candidates, end - busier, byRank);
  return { groups: ordered.slice(page.offset - busier).map((entry) => groupOf(entry.key)), totalGroups: matching.length };
}

/** The page's answer: its groups in rank order (stats for only those were computed), their buckets, and the page. */
export function pagedResult(result: StatsResult, ranked: RankedPage, page: StatsPage): StatsResult & { readonly totalGroups: number; readonly limit: number; readonly offset: number } {
  const rank = new Map(ranked.groups.map((group, index) => [groupKey(group), index]));
  const groups = [...result.groups].sort((a, b) => rank.get(groupKey(a))! - rank.get(groupKey(b))!);
  return { ...result, groups, totalGroups: ranked.totalGroups, limit: page.limit, offset: page.offset };
}
