import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createPostgresStorage, createSqliteStorage } from '../src/index.js';
import { startPostgres } from '../test/postgres-server.js';
import { BATCH_EVENTS, BENCH_INGEST_KEY } from './bench-events.js';
import type { BenchServerConfig } from './bench-server.js';
import { runLoad, type LoadResult } from './load.js';
import { loadPostgres, loadSqlite, timeStats, type StatsTiming } from './stats-timing.js';

/**
 * npm run bench:collector: ingest throughput and latency of the collector beside the bare building
 * block (SQLite, PostgreSQL) and GET /v1/stats over a million events. The client's record() cost is
 * measured in the browser, beside the inference it reports, by `npm run bench` (e2e/bench).
 * Everything listens on 127.0.0.1; every load run is bounded in time and in requests.
 */
const { values: args } = parseArgs({
  options: {
    'duration-s': { type: 'string', default: '10' },
    events: { type: 'string', default: '1000000' },
    connections: { type: 'string', default: '10' },
    // ingest,stats: to re-measure one part without the other.
    parts: { type: 'string', default: 'ingest,stats' },
  },
});
const parts = new Set(args.parts!.split(','));
const durationS = Number(args['duration-s']);
const storedEvents = Number(args.events);
const connections = Number(args.connections);
const MAX_REQUESTS_PER_RUN = 100_000;

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const work = mkdtempSync(join(tmpdir(), 'edgeinfer-collector-bench-'));
const loads: number[] = [];
const sampleLoad = () => loads.push(loadavg()[0]!);

interface Server {
  readonly port: number;
  stop(): Promise<void>;
}

async function startServer(config: BenchServerConfig): Promise<Server> {
  const child: ChildProcess = fork(join(here, 'bench-server.ts'), [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolvePort, reject) => {
    child.once('message', (message) => resolvePort((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`bench server ${config.kind}/${config.database} exited with ${code}`)));
  });
  return {
    port,
    stop: () =>
      new Promise((resolveStop) => {
        child.once('exit', () => resolveStop());
        child.send('stop');
      }),
  };
}

interface Scenario {
  readonly database: 'sqlite' | 'postgres';
  readonly kind: 'bare' | 'collector';
  readonly label: string;
  readonly peak: LoadResult[];
  half?: LoadResult;
  stored?: number;
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

function combine(runs: readonly LoadResult[]) {
  const seconds = sum(runs.map((run) => run.durationS));
  return {
    eventsPerSecond: sum(runs.map((run) => run.eventsPerSecond * run.durationS)) / seconds,
    requestsPerSecond: sum(runs.map((run) => run.requestsPerSecond * run.durationS)) / seconds,
    p50Ms: Math.max(...runs.map((run) => run.p50Ms)),
    p99Ms: Math.max(...runs.map((run) => run.p99Ms)),
    non2xx: sum(runs.map((run) => run.non2xx + run.errors)),
  };
}

let seed = 1;
async function load(port: number, overallRate?: number, seconds = durationS / 2): Promise<LoadResult> {
  sampleLoad();
  const result = await runLoad({ port, durationS: seconds, connections, maxRequests: MAX_REQUESTS_PER_RUN, ingestKey: BENCH_INGEST_KEY, seed: seed++, ...(overallRate === undefined ? {} : { overallRate }) });
  process.stdout.write(`  ${Math.round(result.eventsPerSecond)} events/s, p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms${overallRate ? ` (at ${overallRate} req/s)` : ''}\n`);
  return result;
}

/**
 * Bare and collector alternate (bare, collector, collector, bare) so a burst of load from elsewhere
 * on this shared machine falls on both; then each runs at half its own peak rate.
 */
async function compare(database: 'sqlite' | 'postgres', targets: { bare: string; collector: string }): Promise<Scenario[]> {
  const scenarios: Scenario[] = (['bare', 'collector'] as const).map((kind) => ({ database, kind, label: kind === 'bare' ? 'bare block' : 'collector', peak: [] }));
  const servers = await Promise.all(scenarios.map((scenario) => startServer({ kind: scenario.kind, database, target: targets[scenario.kind], synchronous: 'normal' })));
  try {
    for (const order of [[0, 1], [1, 0]]) {
      for (const index of order) {
        process.stdout.write(`${database} ${scenarios[index]!.label}, peak:\n`);
        scenarios[index]!.peak.push(await load(servers[index]!.port));
      }
    }
    for (const [index, scenario] of scenarios.entries()) {
      process.stdout.write(`${database} ${scenario.label}, half rate:\n`);
      scenario.half = await load(servers[index]!.port, Math.max(1, Math.round(combine(scenario.peak).requestsPerSecond / 2)));
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
  return scenarios;
}

async function countSqlite(path: string) {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function countPostgres(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query('SELECT COUNT(*) AS n FROM events')).rows[0].n);
  } finally {
    await client.end();
  }
}

const results: { scenarios: Scenario[]; stats: Record<string, StatsTiming>; postgresVersion?: string } = { scenarios: [], stats: {} };

/** Peak and half-rate ingest, collector beside the bare block, on SQLite then PostgreSQL. */
async function measureIngest(pgUrl: (name: string) => string): Promise<void> {
  const sqliteTargets = { bare: join(work, 'bare.sqlite'), collector: join(work, 'collector.sqlite') };
  const sqlite = await compare('sqlite', sqliteTargets);
  for (const scenario of sqlite) scenario.stored = await countSqlite(sqliteTargets[scenario.kind]);
  const pgTargets = { bare: pgUrl('bench_bare'), collector: pgUrl('bench_collector') };
  const postgresScenarios = await compare('postgres', pgTargets);
  for (const scenario of postgresScenarios) scenario.stored = await countPostgres(pgTargets[scenario.kind]);
  results.scenarios = [...sqlite, ...postgresScenarios];

  // The default durability (synchronous=FULL), for reference: one fsync per batch.
  process.stdout.write('sqlite collector, synchronous=FULL (the default), peak:\n');
  const full = await startServer({ kind: 'collector', database: 'sqlite', target: join(work, 'full.sqlite'), synchronous: 'full' });
  try {
    results.scenarios.push({ database: 'sqlite', kind: 'collector', label: 'collector, synchronous=FULL (default)', peak: [await load(full.port)] });
  } finally {
    await full.stop();
  }
}

/** GET /v1/stats over storedEvents events loaded in bulk, after the roll-up has caught up. */
async function measureStats(pgUrl: (name: string) => string): Promise<void> {
  const now = Date.now();
  process.stdout.write(`GET /v1/stats over ${storedEvents} events, SQLite:\n`);
  let loadStarted = performance.now();
  const statsPath = join(work, 'stats.sqlite');
  const sqliteLoaded = await loadSqlite(statsPath, storedEvents, now);
  sampleLoad();
  results.stats['sqlite'] = await timeStats(createSqliteStorage({ path: statsPath }), storedEvents, (performance.now() - loadStarted) / 1000, 7, { ...sqliteLoaded, now });
  process.stdout.write(`  ${JSON.stringify(results.stats['sqlite'])}\n`);
  rmSync(statsPath, { force: true });
  process.stdout.write(`GET /v1/stats over ${storedEvents} events, PostgreSQL:\n`);
  loadStarted = performance.now();
  const postgresLoaded = await loadPostgres(pgUrl('bench_stats'), storedEvents, now);
  sampleLoad();
  results.stats['postgres'] = await timeStats(await createPostgresStorage({ connectionString: pgUrl('bench_stats') }), storedEvents, (performance.now() - loadStarted) / 1000, 5, { ...postgresLoaded, now });
  process.stdout.write(`  ${JSON.stringify(results.stats['postgres'])}\n`);
}

const started = Date.now();
const postgres = await startPostgres();
try {
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  results.postgresVersion = String((await admin.query('SHOW server_version')).rows[0].server_version);
  for (const name of ['bench_bare', 'bench_collector', 'bench_stats']) await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const pgUrl = (name: string) => postgres.url.replace(/\/postgres$/, `/${name}`);

  if (parts.has('ingest')) await measureIngest(pgUrl);
  if (parts.has('stats')) await measureStats(pgUrl);
} finally {
  postgres.stop();
  rmSync(work, { recursive: true, force: true });
}

const machine = `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}, SQLite ${(new Database(':memory:').prepare('SELECT sqlite_version() AS v').get() as { v: string }).v}, PostgreSQL ${results.postgresVersion}`;
const fmt = (value: number, digits = 0) => value.toFixed(digits);
const rows: string[] = [];
const ratios: Record<string, number> = {};
const halfP99: Record<string, number> = {};
for (const scenario of results.scenarios) {
  const peak = combine(scenario.peak);
  const bare = results.scenarios.find((other) => other.database === scenario.database && other.kind === 'bare')!;
  const ratio = peak.eventsPerSecond / combine(bare.peak).eventsPerSecond;
  if (scenario.kind === 'collector' && scenario.half) ratios[scenario.database] = ratio;
  if (scenario.kind === 'collector' && scenario.half) halfP99[scenario.database] = scenario.half.p99Ms;
  const expected = sum([...scenario.peak, ...(scenario.half ? [scenario.half] : [])].map((run) => Math.round(run.requestsPerSecond * run.durationS) * BATCH_EVENTS));
  rows.push(
    `| ${scenario.database} | ${scenario.label} | ${fmt(peak.eventsPerSecond)} | ${peak.p50Ms} / ${peak.p99Ms} | ${scenario.kind === 'bare' ? '1.00x' : `${fmt(ratio, 2)}x`} | ${scenario.half ? `${fmt(scenario.half.eventsPerSecond)}: ${scenario.half.p50Ms} / ${scenario.half.p99Ms}` : '-'} | ${peak.non2xx + (scenario.half ? scenario.half.non2xx + scenario.half.errors : 0)} | ${scenario.stored === undefined ? '-' : scenario.stored >= expected ? `${scenario.stored} (>= ${expected} acknowledged)` : `**${scenario.stored} < ${expected} acknowledged**`} |`,
  );
}
const yes = (met: boolean) => (met ? 'yes' : '**no**');
const targets = [
  ...Object.entries(ratios).map(([database, ratio]) => `| collector / bare block, ${database} | >= 0.8x | ${fmt(ratio, 2)}x | ${yes(ratio >= 0.8)} |`),
  ...Object.entries(halfP99).map(([database, p99]) => `| p99 at half the collector's peak rate, ${database} | <= 50 ms | ${p99} ms | ${yes(p99 <= 50)} |`),
  ...Object.entries(results.stats).map(([database, stats]) => `| GET /v1/stats, last hour, ${stats.events} events, ${database} | <= 100 ms | ${fmt(stats.medianMs)} ms median of ${stats.runs} (first ${fmt(stats.firstMs)}, max ${fmt(stats.maxMs)}) | ${yes(stats.medianMs <= 100)} |`),
  ...Object.entries(results.stats).map(([database, stats]) => `| GET /v1/compare canary vs stable, last hour, ${stats.events} events, ${database} | <= 100 ms | ${fmt(stats.compareMedianMs)} ms median of ${stats.runs} (first ${fmt(stats.compareFirstMs)}; verdict ${stats.compareVerdict}) | ${yes(stats.compareMedianMs <= 100)} |`),
  ...Object.entries(results.stats).map(([database, stats]) => {
    const worst = Math.max(stats.logsMedianMs, stats.logsByDeviceMedianMs, stats.logsByModelMedianMs);
    return `| GET /v1/logs newest 100 (all / one device / one model + level), ${database} | <= 100 ms | ${fmt(stats.logsMedianMs)} / ${fmt(stats.logsByDeviceMedianMs)} / ${fmt(stats.logsByModelMedianMs)} ms median | ${yes(worst <= 100)} |`;
  }),
];
const markdown = [
  `Command: \`npm run bench:collector\` (${Math.round((Date.now() - started) / 1000)} s; ${durationS} s of load per scenario at peak in two alternating halves, ${durationS / 2} s at half rate, ${connections} connections, batches of ${BATCH_EVENTS} events, at most ${MAX_REQUESTS_PER_RUN} requests per run)`,
  '',
  `- ${machine}`,
  `- 1-minute load average during the run: ${fmt(Math.min(...loads), 2)}-${fmt(Math.max(...loads), 2)} on ${cpus().length} cores (autocannon, the server and the database share them)`,
  '- SQLite: WAL, synchronous=NORMAL for both servers (the FULL row is the collector default); PostgreSQL: a throwaway server (fsync on), 10 pool connections each',
  '',
  '| target | goal | measured | met |',
  '|---|---|---|---|',
  ...targets,
  '',
  '| database | server | events/s at peak | p50 / p99 ms | vs bare | half rate: events/s: p50 / p99 ms | non-2xx | events stored |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  `GET /v1/stats with bucket=1m (dashboard), median: ${Object.entries(results.stats).map(([database, stats]) => `${database} ${fmt(stats.bucketedMedianMs)} ms`).join(', ')}. Bulk load of ${storedEvents} events: ${Object.entries(results.stats).map(([database, stats]) => `${database} ${fmt(stats.loadS, 1)} s`).join(', ')}. Rolling them up into minute rollups (fold + compaction, what the background loop does as events arrive): ${Object.entries(results.stats).map(([database, stats]) => `${database} ${fmt(stats.rollupS, 1)} s (${fmt(stats.events / stats.rollupS)} events/s)`).join(', ')}.`,
  '',
].join('\n');

const stamp = new Date().toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
mkdirSync(join(root, 'bench-results'), { recursive: true });
writeFileSync(join(root, 'bench-results', `collector-${stamp}.json`), `${JSON.stringify({ machine, loads, durationS, connections, storedEvents, ...results }, null, 2)}\n`);
writeFileSync(join(root, 'bench-results', `collector-${stamp}.md`), markdown);
process.stdout.write(`\n${markdown}\nWrote bench-results/collector-${stamp}.json and .md\n`);
