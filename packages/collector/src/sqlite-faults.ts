import { statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { EdgeInferError, type ErrorCode } from '@edgeinfer/core';

/** SQLite result codes (extended codes start with the primary name) -> what an operator has to fix. */
const CODE_BY_SQLITE: readonly (readonly [string, ErrorCode])[] = [
  ['SQLITE_FULL', 'collector/storage-full'],
  ['SQLITE_READONLY', 'collector/storage-read-only'],
  ['SQLITE_IOERR', 'collector/storage-io'],
  ['SQLITE_CANTOPEN', 'collector/storage-io'],
];

export function sqliteErrorCode(sqliteCode: unknown): ErrorCode {
  const text = typeof sqliteCode === 'string' ? sqliteCode : '';
  return CODE_BY_SQLITE.find(([prefix]) => text.startsWith(prefix))?.[1] ?? 'collector/storage';
}

/** A typed error for a failed SQLite call; a disk fault gets its own code (see ERROR_CODES). */
export function sqliteFault(action: string, cause: unknown): EdgeInferError {
  if (cause instanceof EdgeInferError) return cause;
  const sqliteCode = (cause as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new EdgeInferError(sqliteErrorCode(sqliteCode), `SQLite could not ${action}: ${message}${typeof sqliteCode === 'string' ? ` (${sqliteCode})` : ''}. Nothing was acknowledged; fix the disk and retry.`, {
    cause,
    details: typeof sqliteCode === 'string' ? { sqliteCode } : {},
  });
}

/** True for the faults after which the storage probes a write before it calls itself ready again. */
export function isDiskFault(error: EdgeInferError): boolean {
  return error.code === 'collector/storage-full' || error.code === 'collector/storage-read-only' || error.code === 'collector/storage-io';
}

interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

function identityOf(path: string): FileIdentity | null {
  try {
    const stat = statSync(path);
    return { dev: stat.dev, ino: stat.ino };
  } catch {
    return null;
  }
}

/**
 * Notices when the database file at `path` is no longer the file the connection has open (deleted,
 * or replaced by another file). SQLite keeps writing to the open, unlinked inode and every commit
 * "succeeds" into a file nobody will ever open again, so this is checked around each commit.
 * One stat() per call: a few microseconds.
 */
export function createFileGuard(path: string) {
  const opened = identityOf(path);
  return {
    /** null while the path still names the opened file, else why not. */
    check(): EdgeInferError | null {
      if (opened === null) return null;
      const now = identityOf(path);
      if (now !== null && now.dev === opened.dev && now.ino === opened.ino) return null;
      return new EdgeInferError(
        'collector/storage-replaced',
        `The SQLite file ${path} was ${now === null ? 'deleted' : 'replaced by another file'} while the collector had it open; nothing more is acknowledged. Restart the collector to use the file now at that path.`,
        { details: { path, reason: now === null ? 'deleted' : 'replaced' } },
      );
    },
  };
}

/** Free bytes on the disk holding `path`, or null where statfs is not available. */
export function freeBytesNear(path: string): number | null {
  try {
    const stats = statfsSync(dirname(path));
    return Number(stats.bavail) * Number(stats.bsize);
  } catch {
    return null;
  }
}
