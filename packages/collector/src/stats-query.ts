import { EdgeInferError } from '@edgeinfer/core';
import { EVENT_TYPES, type EventType } from '@edgeinfer/telemetry/schema';
import type { StatsQuery } from './storage.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_BUCKETS = 10_000;
const HOUR_MS = 3_600_000;

function invalid(parameter: string, message: string): EdgeInferError {
  return new EdgeInferError('collector/invalid-query', `Query parameter "${parameter}" ${message}.`, { details: { parameter } });
}

/** `60s`, `5m`, `1h` or plain milliseconds. */
export function parseDurationMs(text: string, parameter: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw invalid(parameter, 'must be a duration such as 60s, 5m or 1h');
  const value = Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1);
  if (!Number.isSafeInteger(value) || value <= 0) throw invalid(parameter, 'must be a positive duration');
  return value;
}

/** `from`/`to` as epoch milliseconds or an ISO date. */
function parseTime(text: string, parameter: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(value)) throw invalid(parameter, 'must be epoch milliseconds or an ISO 8601 date');
  return value;
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(name, 'must be given once and not be empty');
  return value;
}

const KNOWN = new Set(['app', 'model', 'version', 'variant', 'backend', 'type', 'from', 'to', 'bucket']);

/** Reads GET /v1/stats parameters; defaults to the last hour. */
export function parseStatsQuery(query: Record<string, unknown>, now: number): StatsQuery {
  for (const name of Object.keys(query)) if (!KNOWN.has(name)) throw invalid(name, `is not known (use ${[...KNOWN].join(', ')})`);
  const to = single(query, 'to') === undefined ? now + 1 : parseTime(single(query, 'to')!, 'to');
  const from = single(query, 'from') === undefined ? to - HOUR_MS : parseTime(single(query, 'from')!, 'from');
  if (from >= to) throw invalid('from', 'must be before "to"');
  const type = single(query, 'type');
  if (type !== undefined && !EVENT_TYPES.includes(type as EventType)) throw invalid('type', `must be one of ${EVENT_TYPES.join(', ')}`);
  const bucketText = single(query, 'bucket');
  const bucketMs = bucketText === undefined ? undefined : parseDurationMs(bucketText, 'bucket');
  if (bucketMs !== undefined && (to - from) / bucketMs > MAX_BUCKETS) throw invalid('bucket', `gives more than ${MAX_BUCKETS} buckets for this time range`);
  const optional = (name: 'app' | 'model' | 'version' | 'variant' | 'backend') => {
    const value = single(query, name);
    return value === undefined ? {} : { [name]: value };
  };
  return {
    from,
    to,
    ...optional('app'),
    ...optional('model'),
    ...optional('version'),
    ...optional('variant'),
    ...optional('backend'),
    ...(type === undefined ? {} : { type: type as EventType }),
    ...(bucketMs === undefined ? {} : { bucketMs }),
  };
}
