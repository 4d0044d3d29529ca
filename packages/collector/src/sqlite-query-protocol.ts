import type { AuditEntry, AuditQuery } from './audit.js';
import type { CompareQuery, CompareResult } from './compare.js';
import type { LogQuery, LogRecord } from './logs.js';
import type { DeviceStatus, StatsQuery, StatsResult } from './storage.js';

/** Messages between the SQLite storage and its query threads (plain data, structured-cloned). */
export type QueryRequest =
  | { readonly id: number; readonly kind: 'stats'; readonly query: StatsQuery }
  | { readonly id: number; readonly kind: 'devices'; readonly since: number; readonly app?: string }
  | { readonly id: number; readonly kind: 'compare'; readonly query: CompareQuery }
  | { readonly id: number; readonly kind: 'logs'; readonly query: LogQuery }
  | { readonly id: number; readonly kind: 'audit'; readonly query: AuditQuery };

export type QueryReply =
  | { readonly id: number; readonly ok: true; readonly value: StatsResult | DeviceStatus[] | CompareResult | LogRecord[] | AuditEntry[] }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly sqliteCode?: string };
