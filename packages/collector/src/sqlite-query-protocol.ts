import type { DeviceStatus, StatsQuery, StatsResult } from './storage.js';

/** Messages between the SQLite storage and its query threads (plain data, structured-cloned). */
export type QueryRequest =
  | { readonly id: number; readonly kind: 'stats'; readonly query: StatsQuery }
  | { readonly id: number; readonly kind: 'devices'; readonly since: number; readonly app?: string };

export type QueryReply =
  | { readonly id: number; readonly ok: true; readonly value: StatsResult | DeviceStatus[] }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly sqliteCode?: string };
