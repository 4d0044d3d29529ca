import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import { validateBatch } from '@edgeinfer/telemetry/schema';
import { MIGRATIONS } from '../src/migrations.js';

/**
 * The bare building block the collector is measured against: Fastify, the same schema validation,
 * and one INSERT ... ON CONFLICT DO NOTHING transaction per batch into the same table and indexes.
 * No auth, rate limit, metrics, CORS or error mapping: what is left is the cost of the parts.
 */

const COLUMNS = ['event_id', 'app', 'type', 'ts', 'received_at', 'session_id', 'model_id', 'model_version', 'model_variant', 'backend', 'duration_ms', 'code', 'device_id', 'payload'] as const;
const PG_TYPES = ['text', 'text', 'text', 'bigint', 'bigint', 'text', 'text', 'text', 'text', 'text', 'float8', 'text', 'text', 'text'];

type Row = (string | number | null)[];

function toRow(event: Record<string, unknown>, receivedAt: number): Row {
  const model = event['model'] as { id: string; version: string; variant: string } | undefined;
  return [
    event['eventId'] as string,
    'bench',
    event['type'] as string,
    event['ts'] as number,
    receivedAt,
    event['sessionId'] as string,
    model?.id ?? null,
    model?.version ?? null,
    model?.variant ?? null,
    (event['backend'] as string | undefined) ?? null,
    (event['totalMs'] as number | undefined) ?? null,
    (event['code'] as string | undefined) ?? null,
    (event['deviceId'] as string | undefined) ?? null,
    JSON.stringify(event),
  ];
}

function createBareApp(insert: (rows: Row[]) => Promise<void> | void): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  app.post('/v1/events', async (request, reply) => {
    const checked = validateBatch(request.body);
    if (!checked.ok) return reply.code(400).send({ issues: checked.issues });
    const receivedAt = Date.now();
    await insert(checked.value.events.map((event) => toRow(event as unknown as Record<string, unknown>, receivedAt)));
    return { accepted: checked.value.events.length };
  });
  return app;
}

export function createBareSqliteServer(path: string, synchronous: 'full' | 'normal'): FastifyInstance {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
  for (const migration of MIGRATIONS) migration.sql.forEach((statement) => db.exec(statement));
  const insert = db.prepare(`INSERT INTO events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (event_id) DO NOTHING`);
  const insertAll = db.transaction((rows: Row[]) => {
    for (const row of rows) insert.run(row);
  });
  const app = createBareApp((rows) => insertAll(rows));
  app.addHook('onClose', async () => void db.close());
  return app;
}

export async function createBarePostgresServer(connectionString: string): Promise<FastifyInstance> {
  const pool = new pg.Pool({ connectionString, max: 10 });
  for (const migration of MIGRATIONS) for (const statement of migration.sql) await pool.query(statement);
  // One statement is one transaction; unnest keeps the statement text (and its plan) the same for every batch.
  const text = `INSERT INTO events (${COLUMNS.join(', ')}) SELECT * FROM unnest(${PG_TYPES.map((type, index) => `$${index + 1}::${type}[]`).join(', ')}) ON CONFLICT (event_id) DO NOTHING`;
  const app = createBareApp(async (rows) => {
    await pool.query({ name: 'bare-insert', text, values: COLUMNS.map((_column, index) => rows.map((row) => row[index])) });
  });
  app.addHook('onClose', async () => pool.end());
  return app;
}
