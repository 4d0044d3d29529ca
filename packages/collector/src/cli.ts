import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createCollector } from './collector-app.js';
import { createPostgresStorage } from './postgres-storage.js';
import { createSqliteStorage } from './sqlite-storage.js';
import type { CollectorStorage } from './storage.js';

/** Development defaults: the collector starts with no set-up, and says loudly that these are not for production. */
export const DEV_INGEST_KEY = 'dev-ingest-key';
export const DEV_APP = 'dev';
export const DEV_ADMIN_TOKEN = 'dev-admin-token';

const USAGE = `Usage: edgeinfer-collector [options]

  --port <n>              Port (env PORT, default 8787)
  --host <addr>           Address to listen on (env HOST, default 127.0.0.1)
  --db <file>             SQLite file (env EDGEINFER_DB, default ./edgeinfer-collector.sqlite)
  --postgres <url>        Use PostgreSQL instead of SQLite (env DATABASE_URL)
  --ingest-key <app=key>  An app and its ingest key; repeatable (env EDGEINFER_INGEST_KEYS="app=key,app2=key2")
  --admin-token <token>   Token for /v1/stats and the dashboard (env EDGEINFER_ADMIN_TOKEN)
  --retention-days <n>    Delete events older than n days; 0 keeps all (env EDGEINFER_RETENTION_DAYS, default 30)
  --rate-limit <n>        Ingest requests per key per minute (default 6000)
  --sqlite-synchronous <full|normal>  SQLite durability (default full)
  --help
`;

export interface CliConfig {
  readonly port: number;
  readonly host: string;
  readonly dbPath: string;
  readonly postgresUrl: string | undefined;
  readonly ingestKeys: Record<string, string>;
  readonly adminToken: string;
  readonly retentionDays: number;
  readonly rateLimitPerMinute: number;
  readonly sqliteSynchronous: 'full' | 'normal';
  readonly usingDevKey: boolean;
  readonly usingDevToken: boolean;
}

function parseKeys(pairs: readonly string[]): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const pair of pairs) {
    const [app, key] = pair.split('=', 2);
    if (!app || !key) throw new Error(`--ingest-key expects app=key, got "${pair}"`);
    keys[key] = app;
  }
  return keys;
}

function positiveInteger(text: string, name: string, { allowZero = false } = {}): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${text}"`);
  return value;
}

export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliConfig | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      db: { type: 'string' },
      postgres: { type: 'string' },
      'ingest-key': { type: 'string', multiple: true },
      'admin-token': { type: 'string' },
      'retention-days': { type: 'string' },
      'rate-limit': { type: 'string' },
      'sqlite-synchronous': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const keyPairs = values['ingest-key'] ?? (env['EDGEINFER_INGEST_KEYS'] ? env['EDGEINFER_INGEST_KEYS'].split(',').map((pair) => pair.trim()) : []);
  const ingestKeys = keyPairs.length > 0 ? parseKeys(keyPairs) : { [DEV_INGEST_KEY]: DEV_APP };
  const adminToken = values['admin-token'] ?? env['EDGEINFER_ADMIN_TOKEN'] ?? DEV_ADMIN_TOKEN;
  const synchronous = values['sqlite-synchronous'] ?? 'full';
  if (synchronous !== 'full' && synchronous !== 'normal') throw new Error('--sqlite-synchronous must be full or normal');
  return {
    port: positiveInteger(values.port ?? env['PORT'] ?? '8787', '--port', { allowZero: true }),
    host: values.host ?? env['HOST'] ?? '127.0.0.1',
    dbPath: resolve(values.db ?? env['EDGEINFER_DB'] ?? 'edgeinfer-collector.sqlite'),
    postgresUrl: values.postgres ?? env['DATABASE_URL'],
    ingestKeys,
    adminToken,
    retentionDays: positiveInteger(values['retention-days'] ?? env['EDGEINFER_RETENTION_DAYS'] ?? '30', '--retention-days', { allowZero: true }),
    rateLimitPerMinute: positiveInteger(values['rate-limit'] ?? '6000', '--rate-limit'),
    sqliteSynchronous: synchronous,
    usingDevKey: keyPairs.length === 0,
    usingDevToken: adminToken === DEV_ADMIN_TOKEN,
  };
}

export async function runCli(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let config: CliConfig | 'help';
  try {
    config = parseCliArgs(argv, env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (config === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const storage: CollectorStorage = config.postgresUrl
    ? await createPostgresStorage({ connectionString: config.postgresUrl })
    : createSqliteStorage({ path: config.dbPath, synchronous: config.sqliteSynchronous });
  const app = createCollector({
    storage,
    ingestKeys: config.ingestKeys,
    adminToken: config.adminToken,
    retentionDays: config.retentionDays,
    rateLimit: { max: config.rateLimitPerMinute, timeWindowMs: 60_000 },
  });
  const address = await app.listen({ port: config.port, host: config.host });
  const where = config.postgresUrl ? 'PostgreSQL' : `SQLite ${config.dbPath}`;
  const lines = [`edgeinfer-collector listening on ${address} (${where})`, `  dashboard: ${address}/`];
  if (config.usingDevKey) lines.push(`  ingest key (development default, set --ingest-key app=key): app "${DEV_APP}", key "${DEV_INGEST_KEY}"`);
  else lines.push(`  ingest keys for apps: ${[...new Set(Object.values(config.ingestKeys))].join(', ')}`);
  if (config.usingDevToken) lines.push(`  admin token (development default, set --admin-token): ${DEV_ADMIN_TOKEN}`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const stop = (signal: string) => {
    process.stdout.write(`edgeinfer-collector: ${signal}, closing\n`);
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}
