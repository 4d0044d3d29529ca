import type {} from '../../demo/test-harness.js';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { EQUAL_CANARY, STABLE, WORSE_CANARY, postEvents, simulateDevices, type VersionBehaviour } from '../../packages/collector/test/fleet-simulator.js';
import { expect, test } from '../fixtures.js';
import { startCollector, type CollectorServer } from '../collector-server.js';
import { openHarness, setInstallId } from '../support/harness.js';
import { runModelsCli } from '../support/models-cli.js';
import { MODELS_DIR } from '../support/model-server.js';
import { startStaticDirServer, type StaticDirServer } from '../support/static-dir-server.js';

// The closed release loop of issue 18 against the real processes: the release CLI writes the
// manifest, edgeinfer-collector (built bin) serves it and guards the canary, simulated devices and a
// real browser page send telemetry, and the page rolls back when the guard revokes a worse canary.
const LABELS = 'T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot';
const KEY = 'e2e-key';
const ADMIN = 'e2e-admin';
const admin = { authorization: `Bearer ${ADMIN}` };

let files: StaticDirServer;
let dir: string;
let collector: CollectorServer | undefined;
const manifestPath = () => join(dir, 'manifest.json');

const models = (...args: string[]) => runModelsCli(manifestPath(), ...args);

/** The real collector CLI, serving the release CLI's manifest file and guarding fashion's canary. */
async function startGuardedCollector(guard: Record<string, unknown>): Promise<string> {
  writeFileSync(join(dir, 'guard.json'), JSON.stringify(guard));
  collector = await startCollector({ args: ['--manifest', manifestPath(), '--manifest-base-url', `${files.url}/`, '--guard', join(dir, 'guard.json')] });
  return collector.url;
}

test.beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'canary-guard-e2e-'));
  for (const version of ['1.0.0', '1.1.0']) {
    mkdirSync(join(dir, `fashion/${version}`), { recursive: true });
    copyFileSync(join(MODELS_DIR, `fashion-mnist/${version}/model.onnx`), join(dir, `fashion/${version}/model.onnx`));
  }
  files = await startStaticDirServer(dir);
  models('init');
  models('add', 'fashion', '1.0.0', join(dir, 'fashion/1.0.0/model.onnx'), '--labels', LABELS, '--mean', '0.286', '--std', '0.353');
  models('add', 'fashion', '1.1.0', join(dir, 'fashion/1.1.0/model.onnx'));
});

test.afterEach(async () => {
  await collector?.stop();
  collector = undefined;
  await files.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A browser profile with a fixed install id inside the 50 % canary (by the loader's own bucket function). */
async function canaryDevice(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await openHarness(page);
  const installId = await page.evaluate(() => Array.from({ length: 200 }, (_, index) => `kiosk-${index}`).find((id) => window.edgeinfer.loader.rolloutBucket(id, 'fashion') < 50)!);
  await setInstallId(page, installId);
  return page;
}

/** The page loads fashion from the collector's manifest with telemetry to the collector, and keeps following the manifest. */
async function startRunning(page: Page, collectorUrl: string, options: { variants?: string[] } = {}) {
  return page.evaluate(
    async ({ collectorUrl, key, variants }) => {
      const state = window as unknown as Record<string, unknown>;
      const engine = window.edgeinfer.createEngine({ telemetry: { endpoint: collectorUrl, appKey: key, flushIntervalMs: 500, deviceId: 'kiosk-e2e' } });
      state.engine = engine;
      state.image = await (await fetch('/models/gallery/trouser-0.png')).blob();
      const model = await engine.load(`${collectorUrl}/v1/manifest.json#fashion`, { backends: ['wasm'], manifestCheckIntervalMs: 300, ...(variants ? { variants } : {}) });
      state.model = model;
      const { top } = await model.classify(state.image as Blob);
      return { version: model.info.version, channel: model.info.channel, top: top[0]?.label, fallbacks: model.info.fallbacks.map((fallback) => fallback.code) };
    },
    { collectorUrl, key: KEY, variants: options.variants },
  );
}

const runningVersion = (page: Page) => page.evaluate(() => (window as unknown as { model: { info: { version: string } } }).model.info.version);

/** Classifies a few times on the page (real inference events with their top-1 probability) and flushes the telemetry. */
async function classifyAndFlush(page: Page, times: number) {
  await page.evaluate(async (times) => {
    const state = window as unknown as { model: { classify(image: Blob): Promise<unknown> }; image: Blob; engine: { telemetry: { flush(): Promise<void> } } };
    for (let index = 0; index < times; index += 1) await state.model.classify(state.image);
    await state.engine.telemetry.flush();
  }, times);
}

function fleet(canary: VersionBehaviour) {
  const now = Date.now();
  const from = now - 40 * 60_000;
  return [
    ...simulateDevices({ model: 'fashion', behaviour: STABLE, count: 1500, from, to: now - 1000, seed: 11 }),
    ...simulateDevices({ model: 'fashion', behaviour: canary, count: 1500, from, to: now - 1000, seed: 12 }),
  ];
}

const GUARD = { intervalMs: 1000, windowMs: 3_600_000, models: { fashion: { maxErrorRateIncrease: 0.02, maxP95IncreasePct: 25, maxConfidenceDrop: 0.1, minEvents: 1000 } } };

const json = async (url: string) => (await fetch(url, { headers: admin })).json();

test('a worse canary: /v1/compare says worse with the numbers, the guard revokes it, the pinned page rolls back from its cache, the audit log and the dashboard show why', async ({ browser }) => {
  test.setTimeout(300_000);
  const url = await startGuardedCollector(GUARD);
  const context = await browser.newContext();
  const device = await canaryDevice(context);

  // Stable only: the device runs (and caches) 1.0.0. Then the release CLI starts a 50 % canary.
  expect(await startRunning(device, url)).toMatchObject({ version: '1.0.0', channel: 'stable', top: 'Trouser' });
  models('canary', 'fashion', '1.1.0', '50');
  await expect.poll(() => runningVersion(device), { timeout: 30_000 }).toBe('1.1.0');
  await classifyAndFlush(device, 3);

  // The fleet reports: the canary is slower, less confident and fails more often.
  files.requests.length = 0;
  await postEvents(url, KEY, fleet(WORSE_CANARY));

  // The guard (every second) revokes it in the served manifest; the page goes back to 1.0.0 from its cache.
  await expect.poll(async () => (await (await fetch(`${url}/v1/manifest.json`)).json()).models.fashion.revoked ?? [], { timeout: 60_000 }).toEqual(['1.1.0']);
  const served = await (await fetch(`${url}/v1/manifest.json`)).json();
  expect(served.models.fashion.channels).toEqual({ stable: '1.0.0' });
  expect(JSON.parse(readFileSync(manifestPath(), 'utf8')).models.fashion.revoked).toEqual(['1.1.0']);
  await expect.poll(() => runningVersion(device), { timeout: 30_000 }).toBe('1.0.0');
  expect(files.requests.filter((request) => request.method === 'GET')).toEqual([]);

  // The verdict, with its numbers, the real page's confidence among them.
  const compare = await json(`${url}/v1/compare?model=fashion&candidate=1.1.0&baseline=1.0.0`);
  expect(compare.verdict).toBe('worse');
  expect(compare.candidate.inferences).toBeGreaterThan(1300);
  expect(compare.candidate.confidence.count).toBe(compare.candidate.inferences);
  expect(compare.candidate.errorRate).toBeGreaterThan(compare.baseline.errorRate);
  expect(compare.candidate.p95).toBeGreaterThan(compare.baseline.p95);
  expect(compare.checks.confidence).toMatchObject({ outcome: 'worse', significant: true, significance: { test: 'Mann-Whitney U' } });
  expect(compare.checks.errorRate).toMatchObject({ outcome: 'worse', significance: { test: 'two-proportion z-test' } });

  const audit = (await json(`${url}/v1/audit`)).entries;
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({ actor: 'canary-guard', action: 'revoke-canary', model: 'fashion', version: '1.1.0', dryRun: false, detail: { verdict: 'worse' } });

  // Offline, the next start runs stable from the cache.
  await context.setOffline(true);
  const offline = await device.evaluate(async (manifestUrl) => {
    const state = window as unknown as { engine: ReturnType<typeof window.edgeinfer.createEngine>; image: Blob };
    const model = await state.engine.load(manifestUrl, { backends: ['wasm'] });
    const { top } = await model.classify(state.image);
    return { version: model.info.version, manifestSource: model.info.manifestSource, fromCache: model.info.fromCache, top: top[0]?.label };
  }, `${url}/v1/manifest.json#fashion`);
  expect(offline).toEqual({ version: '1.0.0', manifestSource: 'cache', fromCache: true, top: 'Trouser' });
  await context.setOffline(false);

  // The dashboard's canary panel shows the verdict and the audit log the change.
  const dashboard = await browser.newPage();
  await dashboard.goto(`${url}/`);
  await dashboard.locator('#token').fill(ADMIN);
  await dashboard.getByRole('button', { name: 'Refresh' }).click();
  await dashboard.locator('#compare-model').fill('fashion');
  await dashboard.locator('#compare-candidate').fill('1.1.0');
  await dashboard.locator('#compare-baseline').fill('1.0.0');
  await dashboard.getByRole('button', { name: 'Compare' }).click();
  await expect(dashboard.locator('#compare-results .verdict')).toHaveText('worse');
  await expect(dashboard.locator('#compare-results tr', { hasText: 'Error rate' })).toContainText('two-proportion z-test');
  await expect(dashboard.locator('#audit tbody tr').first()).toContainText('revoke-canary');
  await dashboard.close();
  await context.close();
});

test('an equal canary: verdict same, no revocation, the pinned page stays on the canary', async ({ browser }) => {
  test.setTimeout(300_000);
  const url = await startGuardedCollector(GUARD);
  const context = await browser.newContext();
  const device = await canaryDevice(context);
  expect(await startRunning(device, url)).toMatchObject({ version: '1.0.0' });
  models('canary', 'fashion', '1.1.0', '50');
  await expect.poll(() => runningVersion(device), { timeout: 30_000 }).toBe('1.1.0');
  await postEvents(url, KEY, fleet(EQUAL_CANARY));

  // The guard has compared the full data at least twice and left the canary alone.
  await expect
    .poll(async () => (await json(`${url}/v1/guard`)).decisions?.[0], { timeout: 60_000 })
    .toMatchObject({ model: 'fashion', candidate: '1.1.0', baseline: '1.0.0', verdict: 'same', action: 'none' });
  const compare = await json(`${url}/v1/compare?model=fashion&candidate=1.1.0&baseline=1.0.0`);
  expect(compare.verdict).toBe('same');
  expect(compare.reasons).toEqual([]);
  const served = await (await fetch(`${url}/v1/manifest.json`)).json();
  expect(served.models.fashion.channels).toEqual({ stable: '1.0.0', canary: { version: '1.1.0', percent: 50 } });
  expect(served.models.fashion.revoked).toBeUndefined();
  expect((await json(`${url}/v1/audit`)).entries).toEqual([]);
  expect(await runningVersion(device)).toBe('1.1.0');
  await context.close();
});

/** A second variant of 1.0.0 whose reference probe expects other outputs: the engine falls back from it with engine/probe-mismatch. */
function addBadProbeVariant() {
  const manifest = JSON.parse(readFileSync(manifestPath(), 'utf8'));
  const variants = manifest.models.fashion.versions['1.0.0'].variants;
  const [name, good] = Object.entries(variants)[0] as [string, { probe: { path: string } }];
  const probe = JSON.parse(readFileSync(join(dir, good.probe.path), 'utf8'));
  for (const output of Object.values(probe.outputs) as { data: string }[]) {
    const values = new Float32Array(new Uint8Array(Buffer.from(output.data, 'base64')).buffer);
    output.data = Buffer.from(values.map((value) => value + 5).buffer).toString('base64');
  }
  const text = JSON.stringify(probe);
  writeFileSync(join(dir, 'fashion/1.0.0/bad.probe.json'), text);
  variants['bad-probe'] = { ...good, probe: { path: 'fashion/1.0.0/bad.probe.json', size: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') } };
  writeFileSync(manifestPath(), JSON.stringify(manifest, null, 2));
  return name;
}

test("a device's fallback shows up in the dashboard's log view with its code; a hostile log message is shown as text only", async ({ browser }) => {
  test.setTimeout(180_000);
  const goodVariant = addBadProbeVariant();
  const url = await startGuardedCollector({ ...GUARD, dryRun: true });
  const context = await browser.newContext();
  const device = await canaryDevice(context);
  const started = await startRunning(device, url, { variants: ['bad-probe', goodVariant] });
  expect(started).toMatchObject({ version: '1.0.0', fallbacks: ['engine/probe-mismatch'] });
  const hostile = '<img src=x onerror="window.xssRan=true"><script>window.xssRan=true</script>';
  await device.evaluate(async (message) => {
    const state = window as unknown as { engine: { telemetry: { log(input: unknown): void; flush(): Promise<void> } } };
    state.engine.telemetry.log({ level: 'warn', code: 'app/hostile', message });
    await state.engine.telemetry.flush();
  }, hostile);
  await expect.poll(async () => (await json(`${url}/v1/logs?device=kiosk-e2e`)).logs.length, { timeout: 30_000 }).toBe(2);

  const dashboard = await browser.newPage();
  let dialogs = 0;
  dashboard.on('dialog', (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  await dashboard.goto(`${url}/`);
  await dashboard.locator('#token').fill(ADMIN);
  await dashboard.getByRole('button', { name: 'Refresh' }).click();
  await dashboard.locator('#log-device').fill('kiosk-e2e');
  await dashboard.locator('#log-level').selectOption('warn');
  await dashboard.getByRole('button', { name: 'Show logs' }).click();
  const fallbackRow = dashboard.locator('#log-table tbody tr', { hasText: 'engine/probe-mismatch' });
  await expect(fallbackRow).toHaveCount(1);
  await expect(fallbackRow).toContainText('kiosk-e2e');
  await expect(fallbackRow).toContainText('fashion@1.0.0');
  await expect(fallbackRow).toContainText('fell back from ort-wasm');
  // The hostile message is one cell's text; no element it describes exists, and nothing of it ran.
  await expect(dashboard.locator('#log-table td', { hasText: hostile })).toHaveCount(1);
  await expect(dashboard.locator('#log-table img, #log-table script')).toHaveCount(0);
  expect(await dashboard.evaluate(() => (window as unknown as { xssRan?: boolean }).xssRan)).toBeUndefined();
  expect(dialogs).toBe(0);
  // Filtered by another device, the view is empty.
  await dashboard.locator('#log-device').fill('another-kiosk');
  await dashboard.getByRole('button', { name: 'Show logs' }).click();
  await expect(dashboard.locator('#log-table tbody tr')).toHaveCount(0);
  await dashboard.close();
  await context.close();
});
