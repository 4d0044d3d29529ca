import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCollector, createSqliteStorage, parseCliArgs } from '../src/index.js';
import { exited, runCliToExit, spawnCli, startCliServer } from './cli-process.js';
import { inferenceEvent } from './event-factory.js';
import { freePort, startPostgres, type PostgresServer } from './postgres-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-startup-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'events.sqlite');
}

/** A start-up failure is one line for an operator, with the code, and no stack trace. */
function expectOneLineError(stderr: string, code: string) {
  const lines = stderr.trim().split('\n');
  expect(lines.at(-1)).toContain(`[${code}]`);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('collector start-up', () => {
  it('refuses a non-loopback host with the published development key and token, from the flag or HOST', async () => {
    for (const [args, env] of [
      [['--host', '0.0.0.0'], {}],
      [[], { HOST: '0.0.0.0' }],
      [['--host', '0.0.0.0', '--ingest-key', 'web=own-key'], {}],
    ] as const) {
      const outcome = await runCliToExit(['--port', '0', '--db', tempDb(), ...args], env);
      expect(outcome.exitCode, outcome.stderr).toBe(2);
      expect(outcome.stdout).not.toContain('listening');
      expectOneLineError(outcome.stderr, 'collector/insecure-credentials');
    }
  });

  it('prints the address it really listens on, and starts beyond loopback only with --insecure-dev-credentials or own credentials', async () => {
    const insecure = await startCliServer(['--port', '0', '--db', tempDb(), '--host', '0.0.0.0', '--insecure-dev-credentials']);
    cleanups.push(() => exited(insecure.child), () => insecure.child.kill('SIGTERM'));
    expect(insecure.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(insecure.output()).toContain('WARNING');
    const port = new URL(insecure.url).port;
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

    const own = await startCliServer(['--port', '0', '--db', tempDb()], { HOST: '0.0.0.0', EDGEINFER_INGEST_KEYS: 'web=own-key', EDGEINFER_ADMIN_TOKEN: 'own-token' });
    cleanups.push(() => exited(own.child), () => own.child.kill('SIGTERM'));
    expect(own.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+$/);
    expect(own.output()).not.toContain('WARNING');

    const loopback = await startCliServer(['--port', '0', '--db', tempDb(), '--host', '::1']);
    cleanups.push(() => exited(loopback.child), () => loopback.child.kill('SIGTERM'));
    expect(loopback.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
  });

  it('fails with one line when the database directory does not exist', async () => {
    const outcome = await runCliToExit(['--port', '0', '--db', '/nonexistent-edgeinfer/dir/events.sqlite']);
    expect(outcome.exitCode).toBe(1);
    expectOneLineError(outcome.stderr, 'collector/storage-io');
    expect(outcome.stderr).toContain('/nonexistent-edgeinfer/dir/events.sqlite');
  });

  it('retries an unreachable PostgreSQL with back-off, then fails with one line', async () => {
    const port = await freePort();
    const outcome = await runCliToExit(['--port', '0', '--postgres', `postgres://postgres@127.0.0.1:${port}/postgres`, '--postgres-connect-retry', '1500ms']);
    expect(outcome.exitCode).toBe(1);
    const retries = outcome.stderr.split('\n').filter((line) => line.includes('retrying in'));
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expectOneLineError(outcome.stderr, 'collector/storage');
    expect(outcome.stderr).toContain('ECONNREFUSED');
  });

  it('waits for a PostgreSQL that comes up after the collector starts', async () => {
    const port = await freePort();
    const child = spawnCli(['--port', '0', '--postgres', `postgres://postgres@127.0.0.1:${port}/postgres`, '--postgres-connect-retry', '120s', '--ingest-key', 'late=late-key', '--admin-token', 'late-admin']);
    cleanups.push(() => exited(child), () => child.kill('SIGTERM'));
    let output = '';
    const seen = (text: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const look = () => {
          const match = text.exec(output);
          if (match) resolve(match);
        };
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          look();
        };
        child.stdout!.on('data', onData);
        child.stderr!.on('data', onData);
        child.once('exit', (code) => reject(new Error(`collector exited with ${code}:\n${output}`)));
        look();
      });
    // The collector is already retrying when the database starts.
    await seen(/PostgreSQL not reachable/);
    const server: PostgresServer = await startPostgres({}, { port });
    cleanups.push(() => server.stop());
    const url = (await seen(/listening on (http:\/\/\S+)/))[1]!;
    const response = await fetch(`${url}/v1/events?key=late-key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [inferenceEvent()] }) });
    expect(response.status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
  }, 180_000);

  it('splits --ingest-key on the first "=" only, so base64 padding stays in the key', async () => {
    const config = parseCliArgs(['--ingest-key', 'web=c2VjcmV0a2V5MQ==', '--ingest-key', 'kiosk=a=b'], {});
    expect(config !== 'help' && config.ingestKeys).toEqual({ 'c2VjcmV0a2V5MQ==': 'web', 'a=b': 'kiosk' });
    const fromEnv = parseCliArgs([], { EDGEINFER_INGEST_KEYS: 'web=c2VjcmV0a2V5MQ==, tv=dHY=' });
    expect(fromEnv !== 'help' && fromEnv.ingestKeys).toEqual({ 'c2VjcmV0a2V5MQ==': 'web', 'dHY=': 'tv' });
    expect(() => parseCliArgs(['--ingest-key', 'no-equals'], {})).toThrow('app=key');

    const app = createCollector({ storage: createSqliteStorage({ path: tempDb() }), ingestKeys: config !== 'help' ? config.ingestKeys : {}, adminToken: 'admin' });
    cleanups.push(() => app.close());
    const post = (key: string) => app.inject({ method: 'POST', url: '/v1/events', headers: { 'content-type': 'application/json', 'x-edgeinfer-key': key }, payload: { events: [inferenceEvent()] } });
    expect((await post('c2VjcmV0a2V5MQ==')).statusCode).toBe(200);
    expect((await post('c2VjcmV0a2V5MQ')).statusCode).toBe(401);
  });
});
