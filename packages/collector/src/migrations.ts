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
  {
    version: 3,
    name: 'minute rollups',
    sql: [
      // Orders events by arrival for the roll-up (SQLite: a batch number; PostgreSQL: the inserting
      // transaction id).
      'ALTER TABLE events ADD COLUMN ingest_seq BIGINT NOT NULL DEFAULT 0',
      // Rows stored before this migration are numbered in groups of 500 in ts order, so the roll-up
      // folds them in bounded steps, not as one seq of millions. Each batch was a transaction of at
      // most 500 events, so these numbers stay below PostgreSQL's current transaction id.
      `UPDATE events SET ingest_seq = numbered.n / 500
        FROM (SELECT event_id, ROW_NUMBER() OVER (ORDER BY ts, event_id) - 1 AS n FROM events) AS numbered
        WHERE events.event_id = numbered.event_id`,
      'CREATE INDEX events_by_seq ON events (ingest_seq)',
      // Stats read whole minutes from rollup_minutes now; the group walk index only cost inserts.
      'DROP INDEX events_by_group',
      // One row per (minute, type, group, segment): the event count and the durations as one sorted
      // float64 run (BYTEA has numeric affinity in SQLite, which stores blobs unchanged).
      `CREATE TABLE rollup_minutes (
        minute BIGINT NOT NULL,
        type TEXT NOT NULL,
        group_key TEXT NOT NULL,
        segment BIGINT NOT NULL,
        app TEXT NOT NULL,
        model_id TEXT,
        model_version TEXT,
        model_variant TEXT,
        backend TEXT,
        event_count BIGINT NOT NULL,
        durations BYTEA,
        PRIMARY KEY (minute, type, group_key, segment)
      )`,
      // Minutes that gained a segment since they were last compacted.
      'CREATE TABLE rollup_dirty (minute BIGINT PRIMARY KEY)',
      // Every event with ingest_seq below seq_watermark is in rollup_minutes, and no other.
      'CREATE TABLE rollup_state (id INTEGER PRIMARY KEY, seq_watermark BIGINT NOT NULL)',
      'INSERT INTO rollup_state (id, seq_watermark) VALUES (1, 0)',
    ],
  },
  {
    version: 4,
    name: 'quality signal, logs and audit',
    sql: [
      // An inference's top-1 probability, a feedback's 1 (correct) / 0 (wrong): see eventScore().
      'ALTER TABLE events ADD COLUMN score DOUBLE PRECISION',
      'ALTER TABLE events ADD COLUMN level TEXT',
      // The scores of a rollup segment's inferences (or feedback), one sorted float64 run like durations.
      'ALTER TABLE rollup_minutes ADD COLUMN scores BYTEA',
      // Log records are few next to inferences: partial indexes cost ingest nothing for the rest, and
      // answer "newest logs of this model / device" by walking one index backwards.
      "CREATE INDEX events_logs ON events (ts) WHERE type = 'log'",
      "CREATE INDEX events_logs_by_model ON events (model_id, ts) WHERE type = 'log'",
      "CREATE INDEX events_logs_by_device ON events (device_id, ts) WHERE type = 'log'",
      // Every manifest change the collector made or would have made (dry run): who, when, why, the numbers.
      `CREATE TABLE audit_log (
        id TEXT PRIMARY KEY,
        ts BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        model_id TEXT,
        version TEXT,
        dry_run INTEGER NOT NULL,
        detail TEXT NOT NULL
      )`,
      'CREATE INDEX audit_log_by_ts ON audit_log (ts)',
    ],
  },
  {
    version: 5,
    name: 'readiness probes and shared cardinality',
    sql: [
      // PostgreSQL's /readyz writes one row per collector process: a SELECT succeeds on a server that
      // is read-only or in recovery, a write does not. (SQLite probes with its own user_version.)
      'CREATE TABLE readiness_probes (collector_id TEXT PRIMARY KEY, probed_at BIGINT NOT NULL)',
      // The distinct models (scope ''), versions (scope = model id) and devices (scope '') each app was
      // admitted with, and when a collector last saw them: the cardinality limit is checked against
      // these so it holds across every collector on one PostgreSQL. Unused on SQLite (one process).
      `CREATE TABLE cardinality_values (
        app TEXT NOT NULL,
        kind TEXT NOT NULL,
        scope TEXT NOT NULL,
        value TEXT NOT NULL,
        last_seen BIGINT NOT NULL,
        PRIMARY KEY (app, kind, scope, value)
      )`,
      'CREATE INDEX cardinality_values_by_last_seen ON cardinality_values (app, last_seen)',
    ],
  },
  {
    version: 6,
    name: 'compare bins',
    sql: [
      // Per segment, the rank-test bin counts of its durations and scores and the scores' sum
      // (rollup-bins.ts), so GET /v1/compare adds counts instead of reading and binning every value.
      // Rows rolled up before (or by an older collector) have NULL here and are binned from their runs.
      'ALTER TABLE rollup_minutes ADD COLUMN duration_bins BYTEA',
      'ALTER TABLE rollup_minutes ADD COLUMN score_bins BYTEA',
      'ALTER TABLE rollup_minutes ADD COLUMN score_sum DOUBLE PRECISION',
    ],
  },
];

export const MIGRATIONS_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)';
