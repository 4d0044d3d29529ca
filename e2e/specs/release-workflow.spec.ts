import type {} from '../../demo/test-harness.js';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { expect, test } from '../fixtures.js';
import { openHarness, setInstallId } from '../support/harness.js';
import { runModelsCli } from '../support/models-cli.js';
import { MODELS_DIR } from '../support/model-server.js';
import { startStaticDirServer, type StaticDirServer } from '../support/static-dir-server.js';

// The whole release cycle driven by the CLI (`edgeinfer-models`, run as a process) against a plain
// static server, watched by two real devices (browser contexts with fixed install ids).
const LABELS = 'T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot';

let server: StaticDirServer;
let dir: string;
const manifest = () => join(dir, 'manifest.json');

const models = (...args: string[]) => runModelsCli(manifest(), ...args);

test.beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'release-e2e-'));
  for (const version of ['1.0.0', '1.1.0']) {
    mkdirSync(join(dir, `fashion/${version}`), { recursive: true });
    copyFileSync(join(MODELS_DIR, `fashion-mnist/${version}/model.onnx`), join(dir, `fashion/${version}/model.onnx`));
  }
  server = await startStaticDirServer(dir);
});
test.afterAll(() => server.close());

/** Gives this browser profile a fixed install id, as if it had been installed with it. */
async function installDevice(context: BrowserContext, installId: string): Promise<Page> {
  const page = await context.newPage();
  await openHarness(page);
  await setInstallId(page, installId);
  return page;
}

type Running = { version: string; channel: string; fromCache: boolean; manifestSource: string; top?: string };

/** A long-running page: the model follows the manifest (checked every 300 ms) and keeps classifying. */
async function startRunning(page: Page, url: string): Promise<Running> {
  return page.evaluate(async (url) => {
    const state = window as unknown as Record<string, unknown>;
    const engine = window.edgeinfer.createEngine();
    state.engine = engine;
    state.image = await (await fetch('/models/gallery/trouser-0.png')).blob();
    const model = await engine.load(url, { backends: ['wasm'], manifestCheckIntervalMs: 300 });
    state.model = model;
    const { top } = await model.classify(state.image as Blob);
    return { version: model.info.version, channel: model.info.channel, fromCache: model.info.fromCache, manifestSource: model.info.manifestSource, top: top[0]?.label };
  }, url);
}

const runningVersion = (page: Page) => page.evaluate(() => (window as unknown as { model: { info: { version: string } } }).model.info.version);

/** A fresh load on the same engine, as the next page start would do; classifies to prove it runs. */
function freshLoad(page: Page, url: string): Promise<Running> {
  return page.evaluate(async (url) => {
    const state = window as unknown as { engine: ReturnType<typeof window.edgeinfer.createEngine>; image: Blob };
    const model = await state.engine.load(url, { backends: ['wasm'] });
    const { top } = await model.classify(state.image);
    const info = model.info;
    await model.dispose();
    return { version: info.version, channel: info.channel, fromCache: info.fromCache, manifestSource: info.manifestSource, top: top[0]?.label };
  }, url);
}

test('init, add, canary 10 then 100, promote, revoke: devices move at the right step and roll back from the cache', async ({ browser }) => {
  test.setTimeout(300_000);
  models('init');
  models('add', 'fashion', '1.0.0', join(dir, 'fashion/1.0.0/model.onnx'), '--labels', LABELS, '--mean', '0.286', '--std', '0.353');
  const url = `${server.url}/manifest.json#fashion`;

  const contextA = await browser.newContext();
  const contextB = await browser.newContext();
  const probe = await contextA.newPage();
  await openHarness(probe);
  // Install ids on either side of 10 %, by the loader's own bucket function.
  const [inId, outId] = await probe.evaluate(() => {
    const ids = Array.from({ length: 200 }, (_, index) => `kiosk-${index}`);
    const bucket = (id: string) => window.edgeinfer.loader.rolloutBucket(id, 'fashion');
    return [ids.find((id) => bucket(id) < 10)!, ids.find((id) => bucket(id) >= 10)!];
  });
  await probe.close();
  const deviceA = await installDevice(contextA, inId);
  const deviceB = await installDevice(contextB, outId);

  // v1 is the stable version: both devices run it.
  expect(await startRunning(deviceA, url)).toMatchObject({ version: '1.0.0', channel: 'stable', top: 'Trouser' });
  expect(await startRunning(deviceB, url)).toMatchObject({ version: '1.0.0', channel: 'stable', top: 'Trouser' });

  // v2 at 10 %: only the device whose bucket is under 10 moves.
  models('add', 'fashion', '1.1.0', join(dir, 'fashion/1.1.0/model.onnx'));
  models('canary', 'fashion', '1.1.0', '10');
  await expect.poll(() => runningVersion(deviceA), { timeout: 30_000 }).toBe('1.1.0');
  expect(await freshLoad(deviceB, url)).toMatchObject({ version: '1.0.0', channel: 'stable' });
  expect(await runningVersion(deviceB)).toBe('1.0.0');

  // 100 %: the other device moves too.
  models('canary', 'fashion', '1.1.0', '100');
  await expect.poll(() => runningVersion(deviceB), { timeout: 30_000 }).toBe('1.1.0');

  // Promote: v2 is stable for everyone, v1 stays listed (and cached on the devices).
  models('promote', 'fashion', '1.1.0');
  expect(await freshLoad(deviceB, url)).toMatchObject({ version: '1.1.0', channel: 'stable', fromCache: true });
  expect(models('ls')).toMatch(/fashion 1\.0\.0 {2}previous stable[\s\S]*fashion 1\.1\.0 {2}stable/);

  // Revoke v2: the running page goes back to v1 from its cache (no model file is downloaded) ...
  server.requests.length = 0;
  models('revoke', 'fashion', '1.1.0');
  await expect.poll(() => runningVersion(deviceB), { timeout: 30_000 }).toBe('1.0.0');
  expect(server.requests.filter((request) => request.method === 'GET' && request.path !== '/manifest.json')).toEqual([]);

  // ... and with the network gone, the next start runs v1 from the cache too.
  await contextB.setOffline(true);
  expect(await freshLoad(deviceB, url)).toMatchObject({ version: '1.0.0', fromCache: true, manifestSource: 'cache', top: 'Trouser' });
  await contextB.setOffline(false);
  await expect.poll(() => runningVersion(deviceA), { timeout: 30_000 }).toBe('1.0.0');
  await contextA.close();
  await contextB.close();
});
