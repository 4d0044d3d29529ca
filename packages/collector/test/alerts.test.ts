import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCollector, createSqliteStorage } from '../src/index.js';
import { errorEvent, heartbeatEvent, inferenceEvent } from './event-factory.js';

const ALERTS = new URL('../alerts/', import.meta.url).pathname;

/** promtool comes from Debian's prometheus package (.ci/run installs it); missing, it is a set-up error, never a skip. */
function promtool(args: string[], cwd: string) {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (result.error) throw new Error(`promtool is not installed (apt-get install prometheus): ${result.error.message}`);
  return result;
}

describe('shipped Prometheus alerting rules', () => {
  it('pass `promtool test rules`: each alert fires on its bad series and stays quiet on the good ones', () => {
    expect(promtool(['check', 'rules', 'edgeinfer-alerts.yml'], ALERTS).status).toBe(0);
    const result = promtool(['test', 'rules', 'edgeinfer-alerts.test.yml'], ALERTS);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS');
  });

  it('the rule test fails when a rule stops matching it (the test really checks the rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-alerts-'));
    try {
      copyFileSync(join(ALERTS, 'edgeinfer-alerts.test.yml'), join(dir, 'edgeinfer-alerts.test.yml'));
      writeFileSync(join(dir, 'edgeinfer-alerts.yml'), readFileSync(join(ALERTS, 'edgeinfer-alerts.yml'), 'utf8').replace(') > 0.05', ') > 0.5'));
      const result = promtool(['test', 'rules', 'edgeinfer-alerts.test.yml'], dir);
      expect(result.status).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('EdgeinferErrorRateHigh');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('use only metrics a running collector really exports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-alerts-'));
    const app = createCollector({ storage: createSqliteStorage({ path: join(dir, 'events.sqlite') }), ingestKeys: { k: 'shop' }, adminToken: 'admin', rollupIntervalMs: 0, heartbeatCheckMs: 0 });
    try {
      await app.inject({ method: 'POST', url: '/v1/events', headers: { 'x-edgeinfer-key': 'k' }, payload: { events: [inferenceEvent(), errorEvent(), heartbeatEvent()] } });
      const exported = new Set([...(await app.inject({ url: '/metrics' })).body.matchAll(/^# TYPE (\S+) (\w+)/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name!])));
      const used = new Set([...readFileSync(join(ALERTS, 'edgeinfer-alerts.yml'), 'utf8').matchAll(/\b(edgeinfer_[a-z_]+)\b/g)].map(([, name]) => name!));
      expect(used.size).toBeGreaterThanOrEqual(5);
      expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(execFileSync('promtool', ['--version'], { encoding: 'utf8' })).toContain('promtool');
  });
});
