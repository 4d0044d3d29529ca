import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRow } from '../src/audit.js';
import { DEFAULT_THRESHOLDS } from '../src/compare.js';
import { createPostgresStorage, createSqliteStorage, type CollectorStorage } from '../src/index.js';
import { STABLE, WORSE_CANARY, simulateDevices } from './fleet-simulator.js';
import { startPostgres, type PostgresServer } from './postgres-server.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(() => server?.stop());

/** The same events into both databases: every new query answers the same on both. */
async function both(events: readonly TelemetryEvent[], work: (storage: CollectorStorage) => Promise<unknown>): Promise<[unknown, unknown]> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-pg-ops-'));
  const sqlite = createSqliteStorage({ path: join(dir, 'events.sqlite') });
  const postgres = await createPostgresStorage({ connectionString: server.url });
  try {
    const answers: unknown[] = [];
    for (const storage of [sqlite, postgres]) {
      for (let index = 0; index < events.length; index += 500) await storage.insertBatch('shop', events.slice(index, index + 500), Date.now());
      answers.push(await work(storage));
    }
    return answers as [unknown, unknown];
  } finally {
    await sqlite.close();
    await postgres.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rounded = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && !Number.isInteger(item) ? Number(item.toPrecision(10)) : item)));

describe('PostgreSQL: compare, logs and audit', { timeout: 180_000 }, () => {
  it('compares versions with the same numbers and verdict as SQLite, before and after roll-up', async () => {
    const now = Date.now();
    const from = now - 50 * 60_000;
    const events = [...simulateDevices({ model: 'pg-compare', behaviour: STABLE, count: 1500, from, to: now - 1000, seed: 5 }), ...simulateDevices({ model: 'pg-compare', behaviour: WORSE_CANARY, count: 1500, from, to: now - 1000, seed: 6 })];
    const query = { from: now - 3_600_000, to: now + 60_000, model: 'pg-compare', candidate: '1.1.0', baseline: '1.0.0', app: 'shop', thresholds: DEFAULT_THRESHOLDS };
    const [sqlite, postgres] = await both(events, async (storage) => {
      const before = await storage.compare(query);
      while (!(await storage.rollUp({ now: now + 10 * 60_000 })).idle);
      const after = await storage.compare(query);
      expect(rounded(after)).toEqual(rounded(before));
      return after;
    });
    expect((postgres as { verdict: string }).verdict).toBe('worse');
    expect(rounded(postgres)).toEqual(rounded(sqlite));
  });

  it('compares from rows without compare bins (rolled up before migration 6, or by an older collector) as from rows with them', async () => {
    const now = Date.now();
    const from = now - 50 * 60_000;
    const events = [...simulateDevices({ model: 'pg-bins', behaviour: STABLE, count: 1200, from, to: now - 1000, seed: 7 }), ...simulateDevices({ model: 'pg-bins', behaviour: WORSE_CANARY, count: 1200, from, to: now - 1000, seed: 8 })];
    const query = { from: now - 3_600_000, to: now + 60_000, model: 'pg-bins', candidate: '1.1.0', baseline: '1.0.0', app: 'shop', thresholds: DEFAULT_THRESHOLDS };
    // Every other minute loses its bins: a mix of both kinds of rows in one answer.
    const dropBins = 'UPDATE rollup_minutes SET duration_bins = NULL, score_bins = NULL, score_sum = NULL WHERE model_id = $1 AND (minute / 60000) % 2 = 0';
    const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-pg-bins-'));
    const path = join(dir, 'events.sqlite');
    const storages = [createSqliteStorage({ path }), await createPostgresStorage({ connectionString: server.url })];
    try {
      const answers: unknown[] = [];
      for (const storage of storages) {
        for (let index = 0; index < events.length; index += 500) await storage.insertBatch('shop', events.slice(index, index + 500), Date.now());
        while (!(await storage.rollUp({ now: now + 10 * 60_000 })).idle);
        const withBins = await storage.compare(query);
        if (storage.kind === 'postgres') {
          const client = new pg.Client({ connectionString: server.url });
          await client.connect();
          expect((await client.query(dropBins, ['pg-bins'])).rowCount).toBeGreaterThan(0);
          await client.end();
        } else {
          const db = new Database(path);
          expect(db.prepare(dropBins.replace('$1', '?')).run('pg-bins').changes).toBeGreaterThan(0);
          db.close();
        }
        const withoutBins = await storage.compare(query);
        expect(rounded(withoutBins)).toEqual(rounded(withBins));
        answers.push(withBins);
      }
      expect((answers[1] as { verdict: string }).verdict).toBe('worse');
      expect(rounded(answers[1])).toEqual(rounded(answers[0]));
    } finally {
      for (const storage of storages) await storage.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists logs and audit entries like SQLite', async () => {
    const now = Date.now();
    const log = (index: number): TelemetryEvent =>
      ({ eventId: randomUUID(), type: 'log', ts: now - 10_000 + index, sessionId: 'pg-session', libraryVersion: '0.1.0', level: index % 2 === 0 ? 'warn' : 'info', code: `app/code-${index % 3}`, message: `<b>${index}</b>`, deviceId: `pg-kiosk-${index % 4}`, model: { id: 'pg-logs', version: '1', variant: 'v' } }) as TelemetryEvent;
    const events = Array.from({ length: 40 }, (_, index) => log(index));
    const [sqlite, postgres] = await both(events, async (storage) => {
      const entry = auditRow({ actor: 'canary-guard', action: 'revoke-canary', model: 'pg-logs', version: '1', dryRun: false, detail: { reasons: ['test'] }, ts: now });
      await storage.recordAudit(entry);
      const audit = (await storage.audit({ model: 'pg-logs', limit: 10 })).filter((row) => row.id === entry.id);
      return {
        all: (await storage.logs({ from: now - 60_000, to: now + 1, model: 'pg-logs', limit: 500 })).map((record) => [record.ts, record.device, record.level, record.code, record.message]),
        device: (await storage.logs({ from: now - 60_000, to: now + 1, device: 'pg-kiosk-1', minLevel: 'info', limit: 5 })).map((record) => record.ts),
        warn: (await storage.logs({ from: now - 60_000, to: now + 1, model: 'pg-logs', minLevel: 'warn', code: 'app/code-0', limit: 500 })).length,
        audit: audit.map(({ id: _id, ...rest }) => rest),
      };
    });
    expect(postgres).toEqual(sqlite);
    expect((postgres as { all: unknown[] }).all).toHaveLength(40);
    expect((postgres as { warn: number }).warn).toBe(7);
    expect((postgres as { audit: unknown[] }).audit).toEqual([{ ts: now, actor: 'canary-guard', action: 'revoke-canary', model: 'pg-logs', version: '1', dryRun: false, detail: { reasons: ['test'] } }]);
  });
});
