import { EdgeInferError } from '@edgeinfer/core';
import { LOG_LEVELS, type LogLevel } from '@edgeinfer/telemetry/schema';
import type { Placeholder, SqlStatement } from './stats-sql.js';

/** GET /v1/logs: the newest log records first, filtered; each a plain record the dashboard shows as text. */
export interface LogQuery {
  readonly from: number;
  readonly to: number;
  readonly app?: string;
  readonly model?: string;
  readonly version?: string;
  /** A device id, or the page session of a device that has none (as /v1/devices names them). */
  readonly device?: string;
  readonly code?: string;
  /** This level and above. */
  readonly minLevel?: LogLevel;
  readonly limit: number;
}

export interface LogRecord {
  readonly ts: number;
  readonly app: string;
  readonly device: string;
  readonly level: string;
  readonly code: string;
  readonly message: string;
  readonly model: string | null;
  readonly version: string | null;
  readonly variant: string | null;
  readonly backend: string | null;
  readonly libraryVersion: string;
}

export const MAX_LOG_LIMIT = 500;
const DAY_MS = 86_400_000;
const KNOWN = new Set(['app', 'model', 'version', 'device', 'code', 'level', 'from', 'to', 'limit']);

function invalid(parameter: string, message: string): EdgeInferError {
  return new EdgeInferError('collector/invalid-query', `Query parameter "${parameter}" ${message}.`, { details: { parameter } });
}

export function parseLogQuery(query: Record<string, unknown>, now: number): LogQuery {
  for (const name of Object.keys(query)) if (!KNOWN.has(name)) throw invalid(name, `is not known (use ${[...KNOWN].join(', ')})`);
  const single = (name: string) => {
    const value = query[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value === '') throw invalid(name, 'must be given once and not be empty');
    return value;
  };
  const time = (name: string, fallback: number) => {
    const text = single(name);
    if (text === undefined) return fallback;
    const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isSafeInteger(value)) throw invalid(name, 'must be epoch milliseconds or an ISO 8601 date');
    return value;
  };
  const to = time('to', now + 1);
  const from = time('from', to - DAY_MS);
  if (from >= to) throw invalid('from', 'must be before "to"');
  const level = single('level');
  if (level !== undefined && !LOG_LEVELS.includes(level as LogLevel)) throw invalid('level', `must be one of ${LOG_LEVELS.join(', ')}`);
  const limitText = single('limit') ?? '100';
  const limit = Number(limitText);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LOG_LIMIT) throw invalid('limit', `must be an integer from 1 to ${MAX_LOG_LIMIT}`);
  const optional = (name: 'app' | 'model' | 'version' | 'device' | 'code') => (single(name) === undefined ? {} : { [name]: single(name)! });
  return { from, to, ...optional('app'), ...optional('model'), ...optional('version'), ...optional('device'), ...optional('code'), ...(level === undefined ? {} : { minLevel: level as LogLevel }), limit };
}

export function logsSql(query: LogQuery, placeholder: Placeholder): SqlStatement {
  const params: (string | number)[] = [];
  const mark = (value: string | number) => placeholder(params.push(value));
  const where = ["type = 'log'", `ts >= ${mark(query.from)}`, `ts < ${mark(query.to)}`];
  if (query.app !== undefined) where.push(`app = ${mark(query.app)}`);
  if (query.model !== undefined) where.push(`model_id = ${mark(query.model)}`);
  if (query.version !== undefined) where.push(`model_version = ${mark(query.version)}`);
  if (query.code !== undefined) where.push(`code = ${mark(query.code)}`);
  if (query.device !== undefined) {
    const device = mark(query.device);
    where.push(`(device_id = ${device} OR (device_id IS NULL AND session_id = ${device}))`);
  }
  if (query.minLevel !== undefined) {
    const levels = LOG_LEVELS.slice(LOG_LEVELS.indexOf(query.minLevel));
    where.push(`level IN (${levels.map((level) => mark(level)).join(', ')})`);
  }
  return {
    text: `SELECT ts, app, COALESCE(device_id, session_id) AS device, level, code, model_id, model_version, model_variant, backend, payload FROM events WHERE ${where.join(' AND ')} ORDER BY ts DESC LIMIT ${mark(query.limit)}`,
    params,
  };
}

export function logsFromRows(rows: readonly Record<string, unknown>[]): LogRecord[] {
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return rows.map((row) => {
    const event = JSON.parse(String(row['payload'])) as Record<string, unknown>;
    return {
      ts: Number(row['ts']),
      app: String(row['app']),
      device: String(row['device']),
      level: String(row['level']),
      code: String(row['code']),
      message: String(event['message'] ?? ''),
      model: text(row['model_id']),
      version: text(row['model_version']),
      variant: text(row['model_variant']),
      backend: text(row['backend']),
      libraryVersion: String(event['libraryVersion'] ?? ''),
    };
  });
}
