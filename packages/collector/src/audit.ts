import { randomUUID } from 'node:crypto';
import type { Placeholder, SqlStatement } from './stats-sql.js';

/** One manifest change the collector made (or, in dry run, would have made): who or what, when, why, the numbers. */
export interface AuditEntry {
  readonly id: string;
  readonly ts: number;
  /** e.g. "canary-guard". */
  readonly actor: string;
  /** e.g. "revoke-canary". */
  readonly action: string;
  readonly model: string | null;
  readonly version: string | null;
  readonly dryRun: boolean;
  /** Plain data: the verdict, its reasons and numbers, the manifest before/after. */
  readonly detail: Readonly<Record<string, unknown>>;
}

export type AuditInput = Omit<AuditEntry, 'id' | 'ts'> & { readonly ts?: number };

export interface AuditQuery {
  readonly model?: string;
  readonly limit: number;
}

export function auditRow(input: AuditInput): AuditEntry {
  return { id: randomUUID(), ts: input.ts ?? Date.now(), actor: input.actor, action: input.action, model: input.model, version: input.version, dryRun: input.dryRun, detail: input.detail };
}

export function insertAuditSql(entry: AuditEntry, placeholder: Placeholder): SqlStatement {
  return {
    text: `INSERT INTO audit_log (id, ts, actor, action, model_id, version, dry_run, detail) VALUES (${[1, 2, 3, 4, 5, 6, 7, 8].map(placeholder).join(', ')})`,
    params: [entry.id, entry.ts, entry.actor, entry.action, entry.model ?? '', entry.version ?? '', entry.dryRun ? 1 : 0, JSON.stringify(entry.detail)],
  };
}

export function auditSql(query: AuditQuery, placeholder: Placeholder): SqlStatement {
  const params: (string | number)[] = [];
  const where = query.model === undefined ? '' : ` WHERE model_id = ${placeholder(params.push(query.model))}`;
  return { text: `SELECT id, ts, actor, action, model_id, version, dry_run, detail FROM audit_log${where} ORDER BY ts DESC, id LIMIT ${placeholder(params.push(query.limit))}`, params };
}

export function auditFromRows(rows: readonly Record<string, unknown>[]): AuditEntry[] {
  return rows.map((row) => ({
    id: String(row['id']),
    ts: Number(row['ts']),
    actor: String(row['actor']),
    action: String(row['action']),
    model: row['model_id'] === '' || row['model_id'] === null ? null : String(row['model_id']),
    version: row['version'] === '' || row['version'] === null ? null : String(row['version']),
    dryRun: Number(row['dry_run']) === 1,
    detail: JSON.parse(String(row['detail'])) as Record<string, unknown>,
  }));
}
