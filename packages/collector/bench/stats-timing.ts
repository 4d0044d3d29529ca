import Database from 'better-sqlite3';
import pg from 'pg';
import { createCollector, createPostgresStorage, createSqliteStorage, type CollectorStorage } from '../src/index.js';
import { EVENT_COLUMNS, toEventRow } from '../src/storage.js';
import { BENCH_APP, benchEvent, createIdSource, seededRandom } from './bench-events.js';

export interface StatsTiming {
  readonly events: number;
  readonly loadS: number;
  readonly groups: number;
  /** The first request after loading. */
  readonly firstMs: number;
  readonly medianMs: number;
  readonly maxMs: number;
  readonly runs: number;
  /** The same with bucket=1m (what the dashboard asks for). */
  readonly bucketedMedianMs: number;
  /** Folding the loaded events into minute rollups and compacting them, before the timed requests. */
  readonly rollupS: number;
  /** GET /v1/compare of the canary against stable (the last hour; three quarters of the events are that model's). */
  readonly compareFirstMs: number;
  readonly compareMedianMs: number;
  readonly compareVerdict: string;
  readonly compareReasons: readonly string[];
  /** GET /v1/logs: the newest 100, and the newest 100 of one device. */
  readonly logsMedianMs: number;
  readonly logsByDeviceMedianMs: number;
  readonly logsByModelMedianMs: number;
}

const HOUR_MS = 3_600_000;
const CHUNK = 10_000;

const SPAN_MS = HOUR_MS - 300_000;

/**
 * `count` events over the last 55 minutes in arrival order, numbered in batches of 50 as the
 * collector's ingest numbers them, in chunks so a million rows never sit in memory at once.
 */
function* eventChunks(count: number, now: number, tally: { logs: number } = { logs: 0 }) {
  const random = seededRandom(7);
  const nextId = createIdSource();
  const first = now - 60_000 - SPAN_MS;
  for (let done = 0; done < count; done += CHUNK) {
    const size = Math.min(CHUNK, count - done);
    yield Array.from({ length: size }, (_, offset) => {
      const index = done + offset;
      // Up to a second of client-side delay, so arrival order is not exactly ts order.
      const ts = first + Math.floor((index / count) * SPAN_MS) - Math.floor(random() * 1000);
      const event = benchEvent(random, nextId(), ts);
      if (event.type === 'log') tally.logs += 1;
      return { ...toEventRow(BENCH_APP, event, now), ingest_seq: 1 + Math.floor(index / 50) };
    });
  }
}

/** Runs the roll-up to the end, as the collector's background loop would have while the events arrived. */
async function rollUpAll(storage: CollectorStorage, now: number): Promise<number> {
  const started = performance.now();
  while (!(await storage.rollUp({ now })).idle);
  return (performance.now() - started) / 1000;
}

/**
 * Bulk path: the collector's own migrations make the schema, then its indexes are dropped, the rows
 * go in through one prepared statement in one transaction, and the indexes are built again (one
 * sort each instead of a million random B-tree inserts).
 */
export async function loadSqlite(path: string, count: number, now: number): Promise<{ logs: number }> {
  const tally = { logs: 0 };
  await createSqliteStorage({ path }).close();
  const db = new Database(path);
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL").all() as { name: string; sql: string }[];
  const columns = [...EVENT_COLUMNS, 'ingest_seq'];
  const insert = db.prepare(`INSERT INTO events (${columns.join(', ')}) VALUES (${columns.map((column) => `@${column}`).join(', ')})`);
  db.transaction(() => {
    for (const index of indexes) db.exec(`DROP INDEX ${index.name}`);
    for (const rows of eventChunks(count, now, tally)) for (const row of rows) insert.run(row);
    for (const index of indexes) db.exec(index.sql);
  })();
  db.exec('ANALYZE');
  db.close();
  return tally;
}

/**
 * Bulk path: multi-row inserts of 10,000 rows (unnest of column arrays), each its own transaction
 * whose id is the rows' ingest_seq, as the collector's own insert sets it.
 */
export async function loadPostgres(url: string, count: number, now: number): Promise<{ logs: number }> {
  const tally = { logs: 0 };
  await (await createPostgresStorage({ connectionString: url })).close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const types: Record<string, string> = { ts: 'bigint', received_at: 'bigint', duration_ms: 'float8', score: 'float8' };
  const text = `INSERT INTO events (${EVENT_COLUMNS.join(', ')}, ingest_seq)
    SELECT *, pg_current_xact_id()::text::bigint FROM unnest(${EVENT_COLUMNS.map((column, index) => `$${index + 1}::${types[column] ?? 'text'}[]`).join(', ')})`;
  try {
    for (const rows of eventChunks(count, now, tally)) await client.query(text, EVENT_COLUMNS.map((column) => rows.map((row) => row[column])));
    await client.query('VACUUM ANALYZE events');
  } finally {
    await client.end();
  }
  return tally;
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Times GET /v1/stats (default range: the last hour) over HTTP against a collector on 127.0.0.1. */
export async function timeStats(storage: CollectorStorage, events: number, loadS: number, runs: number, loaded: { logs: number; now?: number } = { logs: 0 }): Promise<StatsTiming> {
  // The hour before the load's clock, so a slow load on a busy machine does not push early events out of "the last hour".
  const range = loaded.now === undefined ? '' : `from=${loaded.now + 1 - HOUR_MS}&to=${loaded.now + 1}`;
  const rollupS = await rollUpAll(storage, Date.now());
  const app = createCollector({ storage, ingestKeys: { k: BENCH_APP }, adminToken: 'bench-admin-token', retentionDays: 0 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const get = async (query: string) => {
    const started = performance.now();
    const response = await fetch(`${base}/v1/stats${query}`, { headers: { authorization: 'Bearer bench-admin-token' } });
    const body = (await response.json()) as { groups?: { count: number }[] };
    const elapsedMs = performance.now() - started;
    if (!response.ok || !body.groups) throw new Error(`GET /v1/stats answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
    return { elapsedMs, body: body as { groups: { count: number }[] } };
  };
  try {
    const first = await get(range ? `?${range}` : '');
    const counted = first.body.groups.reduce((sum, group) => sum + group.count, 0);
    // Log records are not inference traffic: stats leave them out.
    if (counted !== events - loaded.logs) throw new Error(`GET /v1/stats counted ${counted} events, expected ${events - loaded.logs}`);
    const times: number[] = [];
    for (let run = 0; run < runs; run += 1) times.push((await get(range ? `?${range}` : '')).elapsedMs);
    const bucketed: number[] = [];
    for (let run = 0; run < Math.max(1, Math.floor(runs / 2)); run += 1) bucketed.push((await get(`?bucket=1m${range ? `&${range}` : ''}`)).elapsedMs);
    const timed = async (path: string, check: (body: Record<string, unknown>) => boolean) => {
      const started = performance.now();
      const response = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer bench-admin-token' } });
      const body = (await response.json()) as Record<string, unknown>;
      const elapsedMs = performance.now() - started;
      if (!response.ok || !check(body)) throw new Error(`GET ${path} answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
      return { elapsedMs, body };
    };
    const comparePath = `/v1/compare?model=fashion-mnist&candidate=1.1.0-canary&baseline=1.0.0${range ? `&${range}` : ''}`;
    const compareFirst = await timed(comparePath, (body) => typeof body['verdict'] === 'string');
    const compares: number[] = [];
    for (let run = 0; run < runs; run += 1) compares.push((await timed(comparePath, (body) => typeof body['verdict'] === 'string')).elapsedMs);
    const logsOf = async (query: string) => {
      const times: number[] = [];
      for (let run = 0; run < runs; run += 1) times.push((await timed(`/v1/logs?limit=100${query}`, (body) => Array.isArray(body['logs']) && (loaded.logs === 0 || (body['logs'] as unknown[]).length > 0))).elapsedMs);
      return median(times);
    };
    return {
      events,
      loadS,
      groups: first.body.groups.length,
      firstMs: first.elapsedMs,
      medianMs: median(times),
      maxMs: Math.max(...times),
      runs,
      bucketedMedianMs: median(bucketed),
      rollupS,
      compareFirstMs: compareFirst.elapsedMs,
      compareMedianMs: median(compares),
      compareVerdict: String(compareFirst.body['verdict']),
      compareReasons: (compareFirst.body['reasons'] as string[] | undefined) ?? [],
      logsMedianMs: await logsOf(''),
      logsByDeviceMedianMs: await logsOf('&device=kiosk-7'),
      logsByModelMedianMs: await logsOf('&model=mobilenetv2&level=warn'),
    };
  } finally {
    await app.close();
  }
}
