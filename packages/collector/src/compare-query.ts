import { EdgeInferError } from '@edgeinfer/core';
import { DEFAULT_THRESHOLDS, type CompareQuery, type CompareThresholds } from './compare.js';

const HOUR_MS = 3_600_000;
const THRESHOLD_NAMES = Object.keys(DEFAULT_THRESHOLDS) as (keyof CompareThresholds)[];
const KNOWN = new Set(['model', 'candidate', 'baseline', 'app', 'variant', 'backend', 'from', 'to', ...THRESHOLD_NAMES]);

function invalid(parameter: string, message: string): EdgeInferError {
  return new EdgeInferError('collector/invalid-query', `Query parameter "${parameter}" ${message}.`, { details: { parameter } });
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(name, 'must be given once and not be empty');
  return value;
}

function time(text: string, parameter: string): number {
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isSafeInteger(value)) throw invalid(parameter, 'must be epoch milliseconds or an ISO 8601 date');
  return value;
}

/** Checks thresholds from a guard file or query parameters; unknown names and negative numbers are refused. */
export function parseThresholds(input: Readonly<Record<string, unknown>>, base: CompareThresholds = DEFAULT_THRESHOLDS, where = 'threshold'): CompareThresholds {
  const thresholds: Record<string, number> = { ...base };
  for (const name of THRESHOLD_NAMES) {
    const raw = input[name];
    if (raw === undefined) continue;
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
    if (!Number.isFinite(value) || value < 0) throw invalid(name, `(${where}) must be a non-negative number`);
    if (name === 'alpha' && (value <= 0 || value >= 1)) throw invalid(name, `(${where}) must be between 0 and 1`);
    thresholds[name] = value;
  }
  return thresholds as unknown as CompareThresholds;
}

/** Reads GET /v1/compare parameters; the window defaults to the last hour. */
export function parseCompareQuery(query: Record<string, unknown>, now: number): CompareQuery {
  for (const name of Object.keys(query)) if (!KNOWN.has(name)) throw invalid(name, `is not known (use ${[...KNOWN].join(', ')})`);
  const required = (name: string) => single(query, name) ?? (() => { throw invalid(name, 'is required'); })();
  const model = required('model');
  const candidate = required('candidate');
  const baseline = required('baseline');
  if (candidate === baseline) throw invalid('candidate', 'must differ from "baseline"');
  const to = single(query, 'to') === undefined ? now + 1 : time(single(query, 'to')!, 'to');
  const from = single(query, 'from') === undefined ? to - HOUR_MS : time(single(query, 'from')!, 'from');
  if (from >= to) throw invalid('from', 'must be before "to"');
  const optional = (name: 'app' | 'variant' | 'backend') => (single(query, name) === undefined ? {} : { [name]: single(query, name)! });
  const thresholds: Record<string, unknown> = {};
  for (const name of THRESHOLD_NAMES) if (query[name] !== undefined) thresholds[name] = single(query, name);
  return { from, to, model, candidate, baseline, ...optional('app'), ...optional('variant'), ...optional('backend'), thresholds: parseThresholds(thresholds) };
}
