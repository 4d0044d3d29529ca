/**
 * Schema changes, applied in order and recorded in `schema_migrations`. The SQL is written once for
 * both databases: SQLite maps BIGINT and DOUBLE PRECISION to its INTEGER and REAL affinities.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'events',
    sql: [
      `CREATE TABLE events (
        event_id TEXT PRIMARY KEY,
        app TEXT NOT NULL,
        type TEXT NOT NULL,
        ts BIGINT NOT NULL,
        received_at BIGINT NOT NULL,
        session_id TEXT NOT NULL,
        model_id TEXT,
        model_version TEXT,
        model_variant TEXT,
        backend TEXT,
        duration_ms DOUBLE PRECISION,
        code TEXT,
        device_id TEXT,
        payload TEXT NOT NULL
      )`,
      // Covers the stats query (a time range, grouped by these columns) without touching the table.
      'CREATE INDEX events_stats ON events (ts, type, app, model_id, model_version, model_variant, backend, duration_ms)',
      'CREATE INDEX events_heartbeats ON events (type, ts)',
    ],
  },
  {
    version: 2,
    name: 'events by group',
    sql: [
      // Group order, then duration order: GET /v1/stats counts a range without sorting it and finds a
      // nearest rank by walking one group's durations from the nearer end. ts last so the walk reads
      // only the index, never the table.
      'CREATE INDEX events_by_group ON events (type, app, model_id, model_version, model_variant, backend, duration_ms, ts)',
    ],
  },
];

export const MIGRATIONS_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';
