import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CollectorServer {
  readonly url: string;
  readonly ingestKey: string;
  /** Total stored events of the test app (all types, heartbeats excluded). */
  count(): Promise<number>;
  stop(): Promise<void>;
}

const BIN = new URL('../packages/collector/bin/edgeinfer-collector.js', import.meta.url).pathname;

export interface CollectorOptions {
  /** More CLI flags, e.g. `--manifest` and `--guard`. */
  readonly args?: readonly string[];
}

/** Starts the real `edgeinfer-collector` CLI (built, packages/collector/dist) on a free port with a fresh SQLite file. */
export async function startCollector(options: CollectorOptions = {}): Promise<CollectorServer> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-e2e-collector-'));
  const ingestKey = 'e2e-key';
  const args = ['--port', '0', '--db', join(dir, 'events.sqlite'), '--ingest-key', `e2e=${ingestKey}`, '--admin-token', 'e2e-admin', ...(options.args ?? [])];
  const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`edgeinfer-collector exited with ${code}:\n${output}`)));
  });
  return {
    url,
    ingestKey,
    async count() {
      const response = await fetch(`${url}/v1/stats?from=0&app=e2e`, { headers: { authorization: 'Bearer e2e-admin' } });
      const body = (await response.json()) as { groups: { count: number }[] };
      return body.groups.reduce((sum, group) => sum + group.count, 0);
    },
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
