import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeInferError } from '@edgeinfer/core';
import { DEFAULT_CARDINALITY_LIMITS, type CardinalityLimits } from './cardinality-limiter.js';
import { loadRevoke, readGuardConfig, type GuardConfig } from './canary-guard.js';
import { createCollector } from './collector-app.js';
import { isLoopbackHost, listeningUrl } from './listen-address.js';
import { createPostgresStorage } from './postgres-storage.js';
import { createSqliteStorage } from './sqlite-storage.js';
import { parseDurationMs } from './stats-query.js';
import type { CollectorStorage } from './storage.js';
import { DEFAULT_FUTURE_MS } from './ts-window.js';

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
  --accept-past <duration>    Oldest event ts accepted, back from now (default: the retention period)
  --accept-future <duration>  Newest event ts accepted, ahead of now (default 5m)
  --max-models <n>        Distinct model ids per app and window (default 100)
  --max-versions <n>      Distinct version+variant pairs per model and window (default 20)
  --max-devices <n>       Distinct devices per app and window (default 10000)
  --cardinality-window <duration>  Window of those limits (default 24h)
  --query-timeout <duration>       Time limit of a stats or devices query (default 30s)
  --postgres-connect-retry <duration>  Keep retrying PostgreSQL at start-up this long (default 30s)
  --metrics-auth          GET /metrics needs the admin token too
  --manifest <file>       Serve this manifest (as written by edgeinfer-models) at /v1/manifest.json, re-read on change
  --manifest-base-url <url>  Resolve the manifest's relative file paths against this URL when serving it
  --guard <file>          Canary guard (JSON: { dryRun?, intervalMs?, windowMs?, models: { <id>: thresholds } }); off by default
  --guard-dry-run         Guard reports (audit log, webhook, /v1/guard) what it would revoke, changes nothing
  --webhook <url>         POST guard decisions and devices going silent / coming back to this URL
  --stale-after <duration>  A device without a heartbeat this long (and no interval of its own) is silent (default 2m)
  --insecure-dev-credentials  Allow the published development key/token on a non-loopback host
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
  readonly insecureDevCredentials: boolean;
  readonly acceptTs: { readonly pastMs?: number; readonly futureMs: number };
  readonly cardinality: CardinalityLimits;
  readonly queryTimeoutMs: number;
  readonly postgresConnectRetryMs: number;
  readonly metricsAuth: boolean;
  readonly manifestPath: string | undefined;
  readonly manifestBaseUrl: string | undefined;
  readonly guard: GuardConfig | undefined;
  readonly webhookUrl: string | undefined;
  readonly staleAfterMs: number;
}

function parseKeys(pairs: readonly string[]): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const pair of pairs) {
    // On the first "=" only: base64 keys end in "=" padding.
    const at = pair.indexOf('=');
    const app = at < 0 ? '' : pair.slice(0, at).trim();
    const key = at < 0 ? '' : pair.slice(at + 1).trim();
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
      'accept-past': { type: 'string' },
      'accept-future': { type: 'string' },
      'max-models': { type: 'string' },
      'max-versions': { type: 'string' },
      'max-devices': { type: 'string' },
      'cardinality-window': { type: 'string' },
      'query-timeout': { type: 'string' },
      'postgres-connect-retry': { type: 'string' },
      'metrics-auth': { type: 'boolean' },
      manifest: { type: 'string' },
      'manifest-base-url': { type: 'string' },
      guard: { type: 'string' },
      'guard-dry-run': { type: 'boolean' },
      webhook: { type: 'string' },
      'stale-after': { type: 'string' },
      'insecure-dev-credentials': { type: 'boolean' },
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
  const duration = (name: string, fallback: number) => (values[name as keyof typeof values] === undefined ? fallback : parseDurationMs(String(values[name as keyof typeof values]), `--${name}`));
  const limit = (name: string, fallback: number) => (values[name as keyof typeof values] === undefined ? fallback : positiveInteger(String(values[name as keyof typeof values]), `--${name}`));
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
    usingDevKey: DEV_INGEST_KEY in ingestKeys,
    usingDevToken: adminToken === DEV_ADMIN_TOKEN,
    insecureDevCredentials: values['insecure-dev-credentials'] === true,
    acceptTs: { ...(values['accept-past'] === undefined ? {} : { pastMs: parseDurationMs(values['accept-past'], '--accept-past') }), futureMs: duration('accept-future', DEFAULT_FUTURE_MS) },
    cardinality: {
      maxModels: limit('max-models', DEFAULT_CARDINALITY_LIMITS.maxModels),
      maxVersionsPerModel: limit('max-versions', DEFAULT_CARDINALITY_LIMITS.maxVersionsPerModel),
      maxDevices: limit('max-devices', DEFAULT_CARDINALITY_LIMITS.maxDevices),
      windowMs: duration('cardinality-window', DEFAULT_CARDINALITY_LIMITS.windowMs),
    },
    queryTimeoutMs: duration('query-timeout', 30_000),
    postgresConnectRetryMs: duration('postgres-connect-retry', 30_000),
    metricsAuth: values['metrics-auth'] === true,
    manifestPath: values.manifest === undefined ? undefined : resolve(values.manifest),
    manifestBaseUrl: values['manifest-base-url'] === undefined ? undefined : new URL(values['manifest-base-url']).href,
    guard: guardConfig(values.guard, values['guard-dry-run'] === true, values.manifest !== undefined),
    webhookUrl: values.webhook === undefined ? undefined : new URL(values.webhook).href,
    staleAfterMs: duration('stale-after', 120_000),
  };
}

function guardConfig(path: string | undefined, dryRun: boolean, hasManifest: boolean): GuardConfig | undefined {
  if (path === undefined) {
    if (dryRun) throw new Error('--guard-dry-run needs --guard <file>');
    return undefined;
  }
  if (!hasManifest) throw new Error('--guard needs --manifest <file>: the guard revokes canaries in that file');
  const config = readGuardConfig(path);
  return dryRun ? { ...config, dryRun: true } : config;
}

/** The published development key or token must not be reachable from other machines unless asked for. */
export function insecureCredentialsError(config: CliConfig): EdgeInferError | null {
  if (isLoopbackHost(config.host) || config.insecureDevCredentials || (!config.usingDevKey && !config.usingDevToken)) return null;
  const which = [config.usingDevKey ? 'ingest key (set --ingest-key app=key)' : '', config.usingDevToken ? 'admin token (set --admin-token)' : ''].filter(Boolean).join(' and ');
  return new EdgeInferError('collector/insecure-credentials', `Refusing to listen on ${config.host} with the published development ${which}; anyone who can reach this address could use them. Set your own, or pass --insecure-dev-credentials.`, {
    details: { host: config.host },
  });
}

/** One line on stderr, no stack trace: start-up failures are for operators. */
function fail(error: unknown, exitCode: number): void {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof EdgeInferError ? ` [${error.code}]` : '';
  process.stderr.write(`edgeinfer-collector: ${message.replace(/\s+/g, ' ').trim()}${code}\n`);
  process.exitCode = exitCode;
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
  const insecure = insecureCredentialsError(config);
  if (insecure !== null) return fail(insecure, 2);
  if (config.guard !== undefined && !config.guard.dryRun) {
    // Fail at start, not at the first revocation, when the optional @edgeinfer/models is missing.
    try {
      await loadRevoke();
    } catch (error) {
      return fail(error, 2);
    }
  }

  let storage: CollectorStorage;
  try {
    storage = config.postgresUrl
      ? await createPostgresStorage({
          connectionString: config.postgresUrl,
          queryTimeoutMs: config.queryTimeoutMs,
          connectRetryMs: config.postgresConnectRetryMs,
          onConnectRetry: (attempt, delayMs, cause) => process.stderr.write(`edgeinfer-collector: PostgreSQL not reachable (${cause.message || (cause as { code?: string }).code}); attempt ${attempt}, retrying in ${delayMs} ms\n`),
        })
      : createSqliteStorage({ path: config.dbPath, synchronous: config.sqliteSynchronous, queryTimeoutMs: config.queryTimeoutMs });
  } catch (error) {
    return fail(error, 1);
  }
  const app = createCollector({
    storage,
    ingestKeys: config.ingestKeys,
    adminToken: config.adminToken,
    retentionDays: config.retentionDays,
    rateLimit: { max: config.rateLimitPerMinute, timeWindowMs: 60_000 },
    acceptTs: config.acceptTs,
    cardinality: config.cardinality,
    metricsAuth: config.metricsAuth,
    staleAfterMs: config.staleAfterMs,
    ...(config.manifestPath === undefined ? {} : { manifest: { path: config.manifestPath, ...(config.manifestBaseUrl === undefined ? {} : { baseUrl: config.manifestBaseUrl }) } }),
    ...(config.guard === undefined ? {} : { guard: config.guard }),
    ...(config.webhookUrl === undefined ? {} : { webhookUrl: config.webhookUrl }),
  });
  let address: string;
  try {
    await app.listen({ port: config.port, host: config.host });
    address = listeningUrl(app.server.address() as AddressInfo | string | null);
  } catch (error) {
    await app.close().catch(() => undefined);
    return fail(error, 1);
  }
  const where = config.postgresUrl ? 'PostgreSQL' : `SQLite ${config.dbPath}`;
  const lines = [`edgeinfer-collector listening on ${address} (${where})`, `  dashboard: ${address}/`];
  if (config.usingDevKey) lines.push(`  ingest key (development default, set --ingest-key app=key): app "${DEV_APP}", key "${DEV_INGEST_KEY}"`);
  else lines.push(`  ingest keys for apps: ${[...new Set(Object.values(config.ingestKeys))].join(', ')}`);
  if (config.manifestPath) lines.push(`  manifest: ${address}/v1/manifest.json (from ${config.manifestPath})`);
  if (config.guard) lines.push(`  canary guard${config.guard.dryRun ? ' (dry run)' : ''}: ${Object.keys(config.guard.models).join(', ')} every ${config.guard.intervalMs} ms`);
  if (config.usingDevToken) lines.push(`  admin token (development default, set --admin-token): ${DEV_ADMIN_TOKEN}`);
  if ((config.usingDevKey || config.usingDevToken) && !isLoopbackHost(config.host)) lines.push('  WARNING: published development credentials on a non-loopback address (--insecure-dev-credentials)');
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
