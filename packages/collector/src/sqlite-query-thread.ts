/**
 * Runs in a worker thread: answers stats and devices queries from its own read-only connection, so
 * a long query (a 24 h range before the roll-up caught up) never blocks the collector's event loop.
 * WAL mode lets it read while the main thread writes.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { QueryReply, QueryRequest } from './sqlite-query-protocol.js';
import { createSqliteReads } from './sqlite-reads.js';

const { path } = workerData as { path: string };
const db = new Database(path, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const reads = createSqliteReads(db);

parentPort!.on('message', (request: QueryRequest) => {
  let reply: QueryReply;
  try {
    const value =
      request.kind === 'stats'
        ? reads.stats(request.query)
        : request.kind === 'devices'
          ? reads.devices(request.since, request.app)
          : request.kind === 'compare'
            ? reads.compare(request.query)
            : request.kind === 'logs'
              ? reads.logs(request.query)
              : reads.audit(request.query);
    reply = { id: request.id, ok: true, value };
  } catch (error) {
    reply = { id: request.id, ok: false, message: error instanceof Error ? error.message : String(error), sqliteCode: (error as { code?: unknown }).code as string | undefined };
  }
  parentPort!.postMessage(reply);
});
