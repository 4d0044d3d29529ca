import { EdgeInferError } from '@edgeinfer/core';
import type { GroupStats, StatsResult } from './storage.js';

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

const keyOf = (group: GroupStats) => JSON.stringify([group.app, group.model, group.version, group.variant, group.backend]);

/**
 * The page of groups ranked by event count (ties in key order), and the buckets of only those
 * groups, so a dashboard draws a few series however many groups junk traffic made.
 */
export function pageStats(result: StatsResult, page: StatsPage): StatsResult & { readonly totalGroups: number; readonly limit: number; readonly offset: number } {
  const needle = page.search?.toLowerCase();
  const matching = needle === undefined ? result.groups : result.groups.filter((group) => [group.app, group.model, group.version, group.variant, group.backend].some((value) => value !== null && value.toLowerCase().includes(needle)));
  const ranked = [...matching].sort((a, b) => b.count - a.count);
  const groups = ranked.slice(page.offset, page.offset + page.limit);
  const keys = new Set(groups.map(keyOf));
  return { ...result, groups, buckets: result.buckets.filter((bucket) => keys.has(keyOf(bucket))), totalGroups: matching.length, limit: page.limit, offset: page.offset };
}
