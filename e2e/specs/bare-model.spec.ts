import type {} from '../../demo/test-harness.js';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from '../fixtures.js';
import { openHarness } from '../support/harness.js';
import { MODELS_DIR } from '../support/model-server.js';
import { startStaticDirServer, type StaticDirServer } from '../support/static-dir-server.js';

// engine.load(url) with no manifest: an .onnx file or a TF.js model.json, served as plain files.
const LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const NCHW = { width: 28, height: 28, channels: 1, layout: 'NCHW', mean: [0.286], std: [0.353] } as const;
const NHWC = { ...NCHW, layout: 'NHWC' } as const;

let server: StaticDirServer;
let root: string;
test.beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bare-model-e2e-'));
  mkdirSync(join(root, 'm'));
  server = await startStaticDirServer(root);
});
test.afterAll(() => server.close());
test.beforeEach(() => {
  server.requests.length = 0;
});

interface Loaded {
  code?: string;
  message?: string;
  id?: string;
  version?: string;
  fromCache?: boolean;
  manifestSource?: string;
  backend?: string;
  inputs?: unknown;
  top?: string;
  logits?: number[];
}

/** Loads `url` in the page's engine (kept on window, so later loads reuse the worker) and classifies a gallery image. */
function loadAndClassify(page: Page, url: string, options: Record<string, unknown> = {}): Promise<Loaded> {
  return page.evaluate(
    async ({ url, options }) => {
      const state = window as unknown as { engine?: ReturnType<typeof window.edgeinfer.createEngine>; image?: Blob };
      state.engine ??= window.edgeinfer.createEngine();
      // Fetched once while online: the offline loads classify the same bytes.
      state.image ??= await (await fetch('/models/gallery/trouser-0.png')).blob();
      try {
        const model = await state.engine.load(url, options);
        const { top, output } = await model.classify(state.image);
        const info = model.info;
        await model.dispose();
        return { id: info.id, version: info.version, fromCache: info.fromCache, manifestSource: info.manifestSource, backend: info.backend, inputs: info.inputs, top: top[0]?.label, logits: [...(output.data as Float32Array)] };
      } catch (error) {
        return { code: (error as { code?: string }).code ?? String(error), message: (error as Error).message };
      }
    },
    { url, options },
  );
}

test('an .onnx URL with no manifest loads, reads its inputs from the graph, classifies an image, and works offline after the first load', async ({ page, context }) => {
  await openHarness(page);
  const url = '/models/fashion-mnist/1.0.0/model.onnx';
  const first = await loadAndClassify(page, url, { labels: LABELS, preprocessing: NCHW, backends: ['wasm'] });
  expect(first).toMatchObject({ id: 'model', fromCache: false, top: 'Trouser', inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }] });

  await context.setOffline(true);
  const offline = await loadAndClassify(page, url, { labels: LABELS, preprocessing: NCHW, backends: ['wasm'] });
  await context.setOffline(false);
  expect(offline).toMatchObject({ fromCache: true, manifestSource: 'cache', top: 'Trouser', version: first.version });
  expect(offline.logits).toEqual(first.logits);
});

test('a TF.js model.json with no manifest loads with the weight files it names and classifies; a #fragment names the model', async ({ page }) => {
  await openHarness(page);
  const tfjs = await loadAndClassify(page, '/models/fashion-mnist/1.0.0/tfjs/model.json', { labels: LABELS, preprocessing: NHWC });
  expect(tfjs).toMatchObject({ id: 'model', fromCache: false, top: 'Trouser' });
  expect(tfjs.backend).toMatch(/^tfjs-/);

  // Without labels or preprocessing a bare model still classifies: the size and layout come from its
  // input shape, and the labels are "class N".
  const named = await loadAndClassify(page, '/models/fashion-mnist/1.1.0/model.onnx#my-classifier', { backends: ['wasm'] });
  expect(named).toMatchObject({ id: 'my-classifier', fromCache: false });
  expect(named.top).toMatch(/^class \d$/);
});

test('a file changed on the server is picked up at the next online load; an unchanged one costs a 304', async ({ page }) => {
  copyFileSync(join(MODELS_DIR, 'fashion-mnist/1.0.0/model.onnx'), join(root, 'm/model.onnx'));
  await openHarness(page);
  const url = `${server.url}/m/model.onnx`;
  const first = await loadAndClassify(page, url, { labels: LABELS, preprocessing: NCHW, backends: ['wasm'] });
  expect(first).toMatchObject({ fromCache: false, top: 'Trouser' });

  server.requests.length = 0;
  const same = await loadAndClassify(page, url, { labels: LABELS, preprocessing: NCHW, backends: ['wasm'] });
  expect(same).toMatchObject({ fromCache: true, version: first.version });
  expect(server.requests.filter((request) => request.method === 'GET').map((request) => request.status)).toEqual([304]);

  copyFileSync(join(MODELS_DIR, 'fashion-mnist/1.1.0/model.onnx'), join(root, 'm/model.onnx'));
  const changed = await loadAndClassify(page, url, { labels: LABELS, preprocessing: NCHW, backends: ['wasm'] });
  expect(changed.fromCache).toBe(false);
  expect(changed.version).not.toBe(first.version);
  expect(changed.logits).not.toEqual(first.logits);
});

test('a wrong integrity is loader/integrity and nothing is cached; the right one loads', async ({ page }) => {
  copyFileSync(join(MODELS_DIR, 'fashion-mnist/1.0.0/model.onnx'), join(root, 'm/pinned.onnx'));
  await openHarness(page);
  const url = `${server.url}/m/pinned.onnx`;
  const wrong = `sha256-${createHash('sha256').update('another file').digest('base64')}`;
  const refused = await loadAndClassify(page, url, { integrity: wrong, backends: ['wasm'] });
  expect(refused.code).toBe('loader/integrity');
  expect(refused.message).toContain('Nothing was cached');
  const cached = await page.evaluate(async () => (await window.edgeinfer.loader.createLoader().listCached()).map((record) => record.modelId));
  expect(cached).toEqual([]);

  const right = `sha256-${createHash('sha256').update(readFileSync(join(root, 'm/pinned.onnx'))).digest('base64')}`;
  expect(await loadAndClassify(page, url, { integrity: right, labels: LABELS, preprocessing: NCHW, backends: ['wasm'] })).toMatchObject({ top: 'Trouser', fromCache: false });
});

test('errors say what the URL looked like: a manifest without a model id, a missing model file', async ({ page }) => {
  await openHarness(page);
  const manifest = await loadAndClassify(page, '/models/manifest.json');
  expect(manifest.code).toBe('loader/model-not-found');
  expect(manifest.message).toContain('is a manifest with the models "fashion-mnist", "mobilenetv2", "content-safety": say which to load');
  const missing = await loadAndClassify(page, `${server.url}/m/nothing-here.onnx`);
  expect(missing.code).toBe('loader/http-status');
  expect(missing.message).toContain('The model file');
  expect(missing.message).toContain('needs a manifest');
});
