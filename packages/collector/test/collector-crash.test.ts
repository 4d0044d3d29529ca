import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';
import { inferenceEvent } from './event-factory.js';

const BIN = new URL('../bin/edgeinfer-collector.js', import.meta.url).pathname;
const KEY = 'crash-key';
const children: ChildProcess[] = [];
const dirs: string[] = [];

/** Starts the real CLI as a separate process and resolves with its address once it listens. */
function startCli(dbPath: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, '--port', '0', '--db', dbPath, '--ingest-key', `crash=${KEY}`, '--admin-token', 'admin', '--rate-limit', '1000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve({ child, url: match[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`collector exited with ${code} before listening:\n${output}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function post(url: string, events: readonly TelemetryEvent[]): Promise<number> {
  const response = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': KEY }, body: JSON.stringify({ events }), signal: AbortSignal.timeout(10_000) });
  await response.arrayBuffer();
  return response.status;
}

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('collector process killed during sustained ingest', () => {
  it('keeps every acknowledged event exactly once and no batch half-written after kill -9 and restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-crash-'));
    dirs.push(dir);
    const dbPath = join(dir, 'events.sqlite');
    const first = await startCli(dbPath);

    const sent: TelemetryEvent[][] = [];
    const acknowledged = new Set<string>();
    let killed = false;
    const sender = async () => {
      while (!killed) {
        const batch = Array.from({ length: 50 }, () => inferenceEvent());
        sent.push(batch);
        try {
          if ((await post(first.url, batch)) === 200) batch.forEach((event) => acknowledged.add(event.eventId));
        } catch {
          // The connection died with the process: this batch was not acknowledged.
        }
      }
    };
    const senders = Array.from({ length: 6 }, () => sender());
    const started = performance.now();
    // Long enough for the background roll-up (every second) to be folding when the kill comes.
    while (acknowledged.size < 5000 || performance.now() - started < 2500) await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill('SIGKILL');
    killed = true;
    await exited(first.child);
    await Promise.all(senders);

    // Restarting opens the same file: SQLite recovers the WAL, the collector must come up on it.
    const second = await startCli(dbPath);
    const db = new Database(dbPath, { readonly: true });
    let storedAfterCrash = 0;
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      const stored = new Map((db.prepare('SELECT event_id, payload FROM events').all() as { event_id: string; payload: string }[]).map((row) => [row.event_id, row.payload]));
      for (const id of acknowledged) expect(stored.has(id), `acknowledged event ${id} is missing`).toBe(true);
      // Each batch is one transaction: all of its events are there, or none.
      for (const batch of sent) {
        const present = batch.filter((event) => stored.has(event.eventId)).length;
        expect([0, batch.length]).toContain(present);
      }
      for (const batch of sent) for (const event of batch) if (stored.has(event.eventId)) expect(JSON.parse(stored.get(event.eventId)!)).toEqual(event);
      expect(acknowledged.size).toBeGreaterThanOrEqual(5000);
      storedAfterCrash = stored.size;
      // The roll-up was folding while the process died: every event is in a rollup or above the watermark, once.
      const folded = Number(db.prepare('SELECT COALESCE(SUM(event_count), 0) FROM rollup_minutes').pluck().get());
      const unfolded = Number(db.prepare('SELECT COUNT(*) FROM events WHERE ingest_seq >= (SELECT seq_watermark FROM rollup_state)').pluck().get());
      expect(folded).toBeGreaterThan(0);
      expect(folded + unfolded).toBe(stored.size);
    } finally {
      db.close();
    }

    // The clients retry what was never acknowledged; ids make the retry count once.
    let duplicates = 0;
    for (const batch of sent.filter((events) => !acknowledged.has(events[0]!.eventId))) {
      const response = await fetch(`${second.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': KEY }, body: JSON.stringify({ events: batch }) });
      expect(response.status).toBe(200);
      duplicates += ((await response.json()) as { duplicates: number }).duplicates;
    }
    const total = sent.reduce((sum, batch) => sum + batch.length, 0);
    const stats = await (await fetch(`${second.url}/v1/stats?from=0`, { headers: { authorization: 'Bearer admin' } })).json();
    expect((stats as { groups: { count: number }[] }).groups.reduce((sum, group) => sum + group.count, 0)).toBe(total);
    // Batches committed just before the kill but never acknowledged come back as duplicates, nothing else.
    expect(duplicates).toBe(storedAfterCrash - acknowledged.size);
    second.child.kill('SIGTERM');
    await exited(second.child);
  }, 60_000);
});
