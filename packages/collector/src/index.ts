/**
 * @edgeinfer/collector: the telemetry collector. `createCollector` builds the Fastify app over a
 * storage (`createSqliteStorage` or `createPostgresStorage`); `runCli` is what `edgeinfer-collector` runs.
 */
export { createCollector } from './collector-app.js';
export type { CollectorOptions } from './collector-app.js';
export { createSqliteStorage } from './sqlite-storage.js';
export type { SqliteStorageOptions } from './sqlite-storage.js';
export { createPostgresStorage } from './postgres-storage.js';
export type { PostgresStorageOptions } from './postgres-storage.js';
export type { BucketStats, CollectorStorage, DeviceStatus, GroupStats, InsertResult, StatsQuery, StatsResult } from './storage.js';
export type { RollupProgress } from './rollup.js';
export { parseStatsQuery } from './stats-query.js';
export { runCli, parseCliArgs, DEV_ADMIN_TOKEN, DEV_APP, DEV_INGEST_KEY } from './cli.js';
