import { closeSync, copyFileSync, existsSync, openSync, readdirSync, rmSync, writeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeInferError } from '@edgeinfer/core';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import { createCollector, createSqliteStorage } from '../src/index.js';
import { mountTinyDisk, readOnlyBindMount, setImmutable } from './disk-faults.js';
import { inferenceEvent } from './event-factory.js';

const KEY = 'fault-key';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-faults-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function start(path: string, options: { minFreeBytes?: number } = {}): FastifyInstance {
  const app = createCollector({ storage: createSqliteStorage({ path, ...options }), ingestKeys: { [KEY]: 'shop' }, adminToken: 'admin', rollupIntervalMs: 0 });
  cleanups.push(() => app.close());
  return app;
}

/** Posts a batch; remembers its ids when the collector acknowledged it. */
async function post(app: FastifyInstance, acknowledged: Set<string>, events: TelemetryEvent[] = Array.from({ length: 50 }, () => inferenceEvent())) {
  const response = await app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': KEY }, payload: { events } });
  if (response.statusCode === 200) events.forEach((event) => acknowledged.add(event.eventId));
  return response;
}

function storedIds(path: string): Set<string> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return new Set(db.prepare('SELECT event_id FROM events').pluck().all() as string[]);
  } finally {
    db.close();
  }
}

describe('SQLite file deleted or replaced while running', () => {
  it('answers 503 and fails /readyz after the file and its -wal/-shm are deleted; every acknowledged event is kept', async () => {
    const dbPath = join(tempDir(), 'events.sqlite');
    const app = start(dbPath);
    const acknowledged = new Set<string>();
    for (let batch = 0; batch < 5; batch += 1) expect((await post(app, acknowledged)).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);

    for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbPath}${suffix}`, { force: true });
    const before = acknowledged.size;
    for (let batch = 0; batch < 10; batch += 1) {
      const response = await post(app, acknowledged);
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'collector/storage-replaced', details: { reason: 'deleted' } });
    }
    expect(acknowledged.size).toBe(before);
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().code).toBe('collector/storage-replaced');
    await app.close();

    // What was acknowledged lives on in the copy the collector wrote from its open (deleted) file.
    const rescued = readdirSync(dirname(dbPath)).filter((name) => name.startsWith('events.sqlite.orphaned-'));
    expect(rescued).toHaveLength(1);
    const rescuedIds = storedIds(join(dirname(dbPath), rescued[0]!));
    for (const id of acknowledged) expect(rescuedIds.has(id), `acknowledged ${id} lost`).toBe(true);

    // A restart opens a new file at the path and is ready again.
    const restarted = start(dbPath);
    expect((await restarted.inject('/readyz')).statusCode).toBe(200);
    expect((await post(restarted, acknowledged)).statusCode).toBe(200);
  });

  it('answers 503 when another file is moved over the database', async () => {
    const dir = tempDir();
    const dbPath = join(dir, 'events.sqlite');
    const app = start(dbPath);
    const acknowledged = new Set<string>();
    expect((await post(app, acknowledged)).statusCode).toBe(200);
    new Database(join(dir, 'other.sqlite')).close();
    copyFileSync(join(dir, 'other.sqlite'), `${dbPath}.new`);
    rmSync(dbPath);
    copyFileSync(`${dbPath}.new`, dbPath);
    const response = await post(app, acknowledged);
    expect(response.statusCode).toBe(503);
    expect(response.json().details.reason).toBe('replaced');
    expect((await app.inject('/readyz')).statusCode).toBe(503);
  });
});

describe('disk full and read-only', () => {
  it('answers 503 storage-full on a really full disk, fails /readyz, and recovers with nothing acknowledged lost', async () => {
    const disk = mountTinyDisk(8 * 1024 * 1024);
    cleanups.push(() => disk.unmount());
    const dbPath = join(disk.dir, 'events.sqlite');
    const app = start(dbPath, { minFreeBytes: 256 * 1024 });
    const acknowledged = new Set<string>();
    for (let batch = 0; batch < 3; batch += 1) expect((await post(app, acknowledged)).statusCode).toBe(200);
    expect((await app.inject('/readyz')).statusCode).toBe(200);

    // Fill the disk for real: write until the kernel says ENOSPC.
    const filler = join(disk.dir, 'filler');
    const fd = openSync(filler, 'w');
    try {
      const chunk = Buffer.alloc(64 * 1024, 1);
      for (;;) writeSync(fd, chunk);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(fd);
    }
    let full: Awaited<ReturnType<typeof post>> | undefined;
    for (let batch = 0; batch < 50 && full === undefined; batch += 1) {
      const response = await post(app, acknowledged, Array.from({ length: 500 }, () => inferenceEvent({ sessionId: 'x'.repeat(64) })));
      if (response.statusCode !== 200) full = response;
    }
    expect(full?.statusCode).toBe(503);
    expect(full?.json().code).toBe('collector/storage-full');
    const ready = await app.inject('/readyz');
    expect(ready.statusCode).toBe(503);
    expect(ready.json().code).toBe('collector/storage-full');

    rmSync(filler);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    expect((await post(app, acknowledged)).statusCode).toBe(200);
    await app.close();
    const stored = storedIds(dbPath);
    for (const id of acknowledged) expect(stored.has(id), `acknowledged ${id} lost`).toBe(true);
  });

  it('answers 503 when the database files become immutable, fails /readyz until they are writable again', async () => {
    const dbPath = join(tempDir(), 'events.sqlite');
    const app = start(dbPath);
    const acknowledged = new Set<string>();
    expect((await post(app, acknowledged)).statusCode).toBe(200);
    const files = [dbPath, `${dbPath}-wal`].filter((path) => existsSync(path));
    setImmutable(files, true);
    cleanups.push(() => setImmutable(files, false));
    const response = await post(app, acknowledged);
    expect(response.statusCode).toBe(503);
    // The kernel refuses the write (EPERM), which SQLite reports as an I/O error.
    expect(response.json()).toMatchObject({ code: 'collector/storage-io', details: { sqliteCode: 'SQLITE_IOERR_WRITE' } });
    expect((await app.inject('/readyz')).statusCode).toBe(503);
    setImmutable(files, false);
    expect((await app.inject('/readyz')).statusCode).toBe(200);
    expect((await post(app, acknowledged)).statusCode).toBe(200);
    await app.close();
    const stored = storedIds(dbPath);
    for (const id of acknowledged) expect(stored.has(id)).toBe(true);
  });

  it('fails to start with one typed error on a read-only filesystem', () => {
    const source = tempDir();
    const db = new Database(join(source, 'events.sqlite'));
    db.pragma('journal_mode = WAL');
    db.close();
    const readOnly = readOnlyBindMount(source);
    cleanups.push(() => readOnly.unmount());
    let thrown: unknown;
    try {
      createSqliteStorage({ path: join(readOnly.dir, 'events.sqlite') });
    } catch (error) {
      thrown = error;
    }
    expect(isEdgeInferError(thrown) && thrown.code).toBe('collector/storage-io');
    expect((thrown as Error).message).toContain('check that its directory exists and is writable');
  });
});
