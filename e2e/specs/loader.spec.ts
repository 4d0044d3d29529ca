import type {} from '../../demo/test-harness.js';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { startCollector } from '../collector-server.js';
import { expect, test } from '../fixtures.js';
import { openHarness } from '../support/harness.js';
import { MODELS_DIR, startModelServer, type ModelServer } from '../support/model-server.js';

let server: ModelServer;
test.beforeAll(async () => {
  server = await startModelServer();
});
test.afterAll(() => server.close());
test.beforeEach(() => {
  server.requests.length = 0;
  server.setManifest(undefined);
});

const shipped = () => JSON.parse(readFileSync(`${MODELS_DIR}manifest.json`, 'utf8'));
const fileRequests = () => server.requests.filter((request) => !request.path.endsWith('manifest.json'));

/** Loads a variant through the loader in the page; returns what the app would see, or the error code. */
async function load(
  page: Page,
  options: { mode?: string; variant?: string; modelId?: string; installId?: string; database?: string; version?: string; maxCacheBytes?: number } = {},
) {
  return page.evaluate(
    async ({ url, variant, modelId, installId, database, version, maxCacheBytes }) => {
      const loader = window.edgeinfer.loader.createLoader({ databaseName: database, installId, ...(maxCacheBytes ? { maxCacheBytes } : {}) });
      try {
        const resolved = await loader.resolve({ manifestUrl: url, modelId, ...(version ? { version } : {}) });
        const loaded = await loader.fetchVariant(resolved, { variant });
        const bytes = new Uint8Array(loaded.files[loaded.entry]!);
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
        return {
          version: resolved.version,
          fromCache: loaded.fromCache,
          manifestSource: resolved.manifestSource,
          sha256: [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join(''),
          cached: (await loader.listCached()).map((record) => record.key),
        };
      } catch (error) {
        return { code: (error as { code?: string }).code ?? String(error), cached: (await loader.listCached()).map((record) => record.key) };
      }
    },
    {
      url: `${server.url}/${options.mode ?? 'ok'}/manifest.json`,
      variant: options.variant ?? 'fp32',
      modelId: options.modelId ?? 'fashion-mnist',
      installId: options.installId ?? 'device-a',
      database: options.database ?? 'edgeinfer-models',
      version: options.version,
      maxCacheBytes: options.maxCacheBytes,
    },
  );
}

const fp32Sha = () => shipped().models['fashion-mnist'].versions['1.0.0'].variants.fp32.files[0].sha256 as string;

test('the second load requests no model file and is served from IndexedDB; offline, the model still loads', async ({ page, context }) => {
  await openHarness(page);
  const first = await load(page);
  expect(first).toMatchObject({ fromCache: false, sha256: fp32Sha() });
  expect(fileRequests()).toHaveLength(1);

  server.requests.length = 0;
  await page.reload();
  await openHarness(page);
  const second = await load(page);
  expect(second).toMatchObject({ fromCache: true, sha256: fp32Sha() });
  expect(fileRequests()).toHaveLength(0);

  server.requests.length = 0;
  await context.setOffline(true);
  const offline = await load(page);
  expect(offline).toMatchObject({ fromCache: true, manifestSource: 'cache', sha256: fp32Sha() });
  expect(server.requests, 'offline: not even the manifest is requested').toHaveLength(0);
  await context.setOffline(false);
});

test('a connection cut mid-file is resumed with a Range request and the bytes are right', async ({ page }) => {
  await openHarness(page);
  const loaded = await load(page, { mode: 'truncate-once' });
  expect(loaded).toMatchObject({ fromCache: false, sha256: fp32Sha() });
  const ranged = fileRequests().filter((request) => request.range);
  expect(ranged).toHaveLength(1);
  expect(ranged[0]!.range).toMatch(/^bytes=[1-9]\d*-$/);
});

for (const [mode, code] of [
  ['corrupt', 'loader/integrity'],
  ['status-500', 'loader/http-status'],
  ['html', 'loader/not-a-model'],
] as const) {
  test(`a ${mode} answer gives ${code} and caches nothing`, async ({ page }) => {
    await openHarness(page);
    // The manifest comes from the good path; the files from the misbehaving one.
    const manifest = shipped();
    const file = manifest.models['fashion-mnist'].versions['1.0.0'].variants.fp32.files[0];
    file.path = `${server.url}/${mode}/${file.path}`;
    server.setManifest(manifest);
    expect(await load(page)).toEqual({ code, cached: [] });
  });
}

test('a missing file (404) gives loader/http-status and caches nothing', async ({ page }) => {
  await openHarness(page);
  const manifest = shipped();
  manifest.models['fashion-mnist'].versions['1.0.0'].variants.fp32.files[0].path = 'fashion-mnist/1.0.0/missing.onnx';
  server.setManifest(manifest);
  expect(await load(page)).toEqual({ code: 'loader/http-status', cached: [] });
});

test('a cached chunk corrupted in IndexedDB is detected, re-fetched, and never served', async ({ page }) => {
  await openHarness(page);
  await load(page);
  await page.evaluate(async (sha256) => {
    const open = indexedDB.open('edgeinfer-models');
    const db = await new Promise<IDBDatabase>((resolve) => (open.onsuccess = () => resolve(open.result)));
    const tx = db.transaction('files', 'readwrite');
    tx.objectStore('files').put(new Blob([new Uint8Array(1000).fill(9)]), `chunk:${sha256}:0`);
    await new Promise((resolve) => (tx.oncomplete = resolve));
    db.close();
  }, fp32Sha());
  server.requests.length = 0;
  expect(await load(page)).toMatchObject({ fromCache: false, sha256: fp32Sha() });
  expect(fileRequests()).toHaveLength(1);
  expect(await load(page)).toMatchObject({ fromCache: true, sha256: fp32Sha() });
});

test('over the cache budget: least recently used models are evicted, then loader/quota', async ({ page }) => {
  await openHarness(page);
  await load(page, { variant: 'fp32' }); // 425 kB, used first
  await load(page, { variant: 'int8' }); // 114 kB
  const evicting = await load(page, { variant: 'tfjs', maxCacheBytes: 600_000 }); // 429 kB: fits only once fp32 is gone
  expect(evicting).toMatchObject({ fromCache: false });
  expect((evicting as { cached: string[] }).cached.sort()).toEqual(['fashion-mnist@1.0.0/int8', 'fashion-mnist@1.0.0/tfjs']);

  expect(await load(page, { variant: 'fp32', maxCacheBytes: 300_000 })).toEqual({ code: 'loader/quota', cached: [] });
});

test('two tabs loading the same model at once download it once', async ({ context }) => {
  const [a, b] = [await context.newPage(), await context.newPage()];
  await Promise.all([openHarness(a), openHarness(b)]);
  server.requests.length = 0;
  const [first, second] = await Promise.all([load(a, { variant: 'tfjs' }), load(b, { variant: 'tfjs' })]);
  expect([first, second].map((result) => (result as { fromCache: boolean }).fromCache).sort()).toEqual([false, true]);
  expect(fileRequests()).toHaveLength(2); // model.json and weights.bin, each once
});

test('revoking the canary moves canary devices back to stable at the next check, offline included', async ({ page, context }) => {
  await openHarness(page);
  const manifest = shipped();
  manifest.models['fashion-mnist'].channels = { stable: '1.0.0', canary: { version: '1.1.0', percent: 100 } };
  server.setManifest(manifest);
  expect(await load(page)).toMatchObject({ version: '1.1.0' });
  expect(await load(page, { version: '1.0.0' })).toMatchObject({ version: '1.0.0' }); // stable cached too

  manifest.models['fashion-mnist'].revoked = ['1.1.0'];
  server.setManifest(manifest);
  expect(await load(page)).toMatchObject({ version: '1.0.0', fromCache: true });

  await context.setOffline(true);
  expect(await load(page)).toMatchObject({ version: '1.0.0', fromCache: true, manifestSource: 'cache' });
  await context.setOffline(false);
});

test('a long-running page follows the manifest: revoking its version switches the running model back to stable', async ({ page }) => {
  await openHarness(page);
  const manifest = shipped();
  manifest.models['fashion-mnist'].channels = { stable: '1.0.0', canary: { version: '1.1.0', percent: 100 } };
  server.setManifest(manifest);
  await page.evaluate(async (url) => {
    const model = await window.edgeinfer.createEngine().load(url, { backends: ['wasm'], manifestCheckIntervalMs: 300 });
    (window as unknown as { model: typeof model }).model = model;
  }, `${server.url}/ok/manifest.json#fashion-mnist`);
  const version = () => page.evaluate(() => (window as unknown as { model: { info: { version: string } } }).model.info.version);
  expect(await version()).toBe('1.1.0');

  manifest.models['fashion-mnist'].revoked = ['1.1.0'];
  server.setManifest(manifest);
  await expect.poll(version, { timeout: 20_000 }).toBe('1.0.0');
  const answer = await page.evaluate(async () => {
    const model = (window as unknown as { model: { run: (feeds: unknown) => Promise<{ output: { dims: number[] } }> } }).model;
    return (await model.run({ input: window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]) })).output.dims;
  });
  expect(answer).toEqual([1, 10]);
});

/** What the reset spec keeps on the page between its steps. */
declare global {
  interface Window {
    __reset?: {
      engine: ReturnType<Window['edgeinfer']['createEngine']>;
      model: Awaited<ReturnType<ReturnType<Window['edgeinfer']['createEngine']>['load']>>;
      deletions: Record<string, string>;
    };
  }
}

/** Events waiting in the telemetry client's IndexedDB queue (the spec's own connection is closed again). */
const storedTelemetry = (page: Page) =>
  page.evaluate(async () => {
    if (!(await indexedDB.databases()).some((db) => db.name === 'edgeinfer-telemetry')) return 0;
    return new Promise<number>((resolve, reject) => {
      const request = indexedDB.open('edgeinfer-telemetry');
      request.onerror = () => reject(request.error);
      request.onsuccess = () => {
        const db = request.result;
        const count = db.transaction('events').objectStore('events').count();
        count.onsuccess = () => (db.close(), resolve(count.result));
        count.onerror = () => (db.close(), reject(count.error));
      };
    });
  });

test("the app's reset (deleteDatabase on every edgeinfer database) completes with a model loaded, telemetry queued offline and a backend winner cached; afterwards models load and run and telemetry queues and sends", async ({
  page,
  context,
}) => {
  const collector = await startCollector();
  try {
    await openHarness(page);
    const url = `${server.url}/ok/manifest.json#fashion-mnist`;
    const first = await page.evaluate(
      async ({ url, endpoint, appKey }) => {
        // Telemetry sends only when asked (or on `online`), so what is recorded offline stays queued.
        const engine = window.edgeinfer.createEngine({ telemetry: { endpoint, appKey, batchSize: 1000, flushIntervalMs: 600_000 } });
        const model = await engine.load(url, { backends: ['wasm'], select: 'benchmark' });
        window.__reset = { engine, model, deletions: {} };
        return { selectionReason: model.info.selectionReason, fromCache: model.info.fromCache };
      },
      { url, endpoint: collector.url, appKey: collector.ingestKey },
    );
    expect(first).toEqual({ selectionReason: expect.stringMatching(/^benchmark trial: p50 /), fromCache: false });

    await context.setOffline(true);
    const run = () =>
      page.evaluate(async () => {
        const input = window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]);
        return (await window.__reset!.model.run({ input })).output.dims;
      });
    expect(await run()).toEqual([1, 10]);
    // Offline, the client writes its queue (the load and the inference) to IndexedDB.
    await expect.poll(() => storedTelemetry(page)).toBeGreaterThanOrEqual(2);

    const databases = await page.evaluate(async () => (await indexedDB.databases()).map((db) => db.name!).filter((name) => name.startsWith('edgeinfer')).sort());
    expect(databases, 'every database edgeinfer keeps exists before the reset').toEqual(['edgeinfer-models', 'edgeinfer-selection', 'edgeinfer-telemetry']);

    // The reset an app offers: delete each database. 'blocked' may fire while the page and the worker
    // close their connections; success must follow (a connection that ignored versionchange leaves it at 'blocked').
    await page.evaluate((names) => {
      for (const name of names) {
        const request = indexedDB.deleteDatabase(name);
        window.__reset!.deletions[name] = 'pending';
        request.onblocked = () => void (window.__reset!.deletions[name] = 'blocked');
        request.onsuccess = () => void (window.__reset!.deletions[name] = 'deleted');
        request.onerror = () => void (window.__reset!.deletions[name] = `error ${request.error?.name}`);
      }
    }, databases);
    await expect.poll(() => page.evaluate(() => window.__reset!.deletions)).toEqual({
      'edgeinfer-models': 'deleted',
      'edgeinfer-selection': 'deleted',
      'edgeinfer-telemetry': 'deleted',
    });

    // The loaded model keeps answering, and telemetry keeps queueing offline, in a new database.
    expect(await run()).toEqual([1, 10]);
    await expect.poll(() => storedTelemetry(page), 'the inference after the reset is queued in IndexedDB').toBe(1);

    // Back online, everything queued is delivered, and the queue empties.
    await context.setOffline(false);
    await page.evaluate(() => window.__reset!.engine.telemetry!.flush());
    const sent = await page.evaluate(() => window.__reset!.engine.telemetry!.stats());
    expect(sent).toMatchObject({ queued: 0, sent: 3 });
    expect(await collector.count(), 'the load and both inferences reached the collector').toBe(3);
    expect(await storedTelemetry(page)).toBe(0);

    // The caches were really emptied (the next load downloads and benchmarks again) and fill again.
    const reload = () =>
      page.evaluate(async (ref) => {
        const model = await window.__reset!.engine.load(ref, { backends: ['wasm'], select: 'benchmark' });
        const input = window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]);
        return { fromCache: model.info.fromCache, selectionReason: model.info.selectionReason, dims: (await model.run({ input })).output.dims };
      }, url);
    expect(await reload()).toEqual({ fromCache: false, selectionReason: expect.stringMatching(/^benchmark trial: p50 /), dims: [1, 10] });
    expect(await reload()).toEqual({ fromCache: true, selectionReason: expect.stringMatching(/^benchmark winner remembered/), dims: [1, 10] });
    await page.evaluate(() => window.__reset!.engine.telemetry!.flush());
    expect(await collector.count(), 'two more loads and two more inferences').toBe(7);
  } finally {
    await collector.stop();
  }
});

test('a captive portal answering the manifest with 200 text/html: the cached model loads, manifestSource cache', async ({ page }) => {
  await openHarness(page);
  const url = `${server.url}/ok/manifest.json#fashion-mnist`;
  const loadInfo = () =>
    page.evaluate(async (ref) => {
      try {
        const model = await window.edgeinfer.createEngine().load(ref, { backends: ['wasm'] });
        return { manifestSource: model.info.manifestSource, fromCache: model.info.fromCache, version: model.info.version };
      } catch (error) {
        return { code: (error as { code?: string }).code ?? String(error) };
      }
    }, url);
  expect(await loadInfo()).toEqual({ manifestSource: 'network', fromCache: false, version: '1.0.0' });
  server.setCaptivePortal(true);
  try {
    server.requests.length = 0;
    expect(await loadInfo()).toEqual({ manifestSource: 'cache', fromCache: true, version: '1.0.0' });
    expect(server.requests.map((request) => request.path), 'the portal was asked, and no model file was').toEqual(['/ok/manifest.json']);
  } finally {
    server.setCaptivePortal(false);
  }
});
