import { createCollector, createPostgresStorage, createSqliteStorage } from '../src/index.js';
import { createBarePostgresServer, createBareSqliteServer } from './bare-server.js';
import { BENCH_ADMIN_TOKEN, BENCH_INGEST_KEY } from './bench-events.js';

/**
 * One server under load, in its own process so it does not share a core's event loop with
 * autocannon. Started by run.ts with fork(); reports its port over IPC and stops on 'stop'.
 */
export interface BenchServerConfig {
  readonly kind: 'bare' | 'collector';
  readonly database: 'sqlite' | 'postgres';
  /** SQLite file or PostgreSQL URL. */
  readonly target: string;
  readonly synchronous?: 'full' | 'normal';
}

async function start(config: BenchServerConfig) {
  if (config.kind === 'bare') {
    return config.database === 'sqlite' ? createBareSqliteServer(config.target, config.synchronous ?? 'normal') : createBarePostgresServer(config.target);
  }
  const storage = config.database === 'sqlite' ? createSqliteStorage({ path: config.target, synchronous: config.synchronous ?? 'normal' }) : await createPostgresStorage({ connectionString: config.target });
  // The rate limit stays on (its bookkeeping is part of the cost) but high enough not to answer 429.
  return createCollector({ storage, ingestKeys: { [BENCH_INGEST_KEY]: 'bench' }, adminToken: BENCH_ADMIN_TOKEN, rateLimit: { max: 1e9, timeWindowMs: 60_000 }, retentionDays: 0 });
}

const config = JSON.parse(process.argv[2] ?? '{}') as BenchServerConfig;
const app = await start(config);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
process.on('message', (message) => {
  if (message === 'stop') void app.close().then(() => process.exit(0));
});
