import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { join } from 'node:path';
import { expect, test } from '../fixtures.js';
import { MODELS_DIR } from '../support/model-server.js';

const FASHION_LABELS = 'T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot';

test.beforeEach(async ({ page }) => {
  await page.goto('/?backend=wasm');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
});

/** The page still works: a sample is classified correctly. */
async function expectStillClassifies(page: Page, label = 'Ankle boot') {
  await page.getByRole('button', { name: `Sample: ${label}` }).first().click();
  await expect(page.locator('#predictions li').first()).toContainText(label);
  await expect(page.locator('#error')).toHaveText('');
}

test('a broken image and a file that is not an image show a clear message, and the page keeps working', async ({ page }) => {
  await page.locator('#file-input').setInputFiles({ name: 'holiday.png', mimeType: 'image/png', buffer: Buffer.from('this is not really a PNG') });
  await expect(page.locator('#error')).toHaveText(/"holiday.png" could not be decoded as an image/);
  await expectStillClassifies(page);

  await page.locator('#file-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await expect(page.locator('#error')).toHaveText(/"notes.txt" is not an image \(text\/plain\)/);
  await expectStillClassifies(page, 'Trouser');
});

test('an uploaded image is classified', async ({ page }) => {
  await page.locator('#file-input').setInputFiles(join(MODELS_DIR, 'gallery/sneaker-0.png'));
  await expect(page.locator('#predictions li').first()).toContainText('Sneaker');
});

test('a backend that cannot run the model says why, and another backend still works', async ({ page }) => {
  // TF.js WebGL cannot run an ONNX variant: the same path a device without WebGPU takes.
  await page.goto('/?backend=webgl&variant=int8');
  await expect(page.locator('#error')).toContainText('engine/backend-unavailable');
  await expect(page.locator('#status')).toContainText('Could not load the model');
  await page.locator('#variant-select').selectOption('auto');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('dd[data-key="backend"]')).toHaveText('tfjs-webgl');
  await expectStillClassifies(page);
});

test('a camera that is not available shows a message', async ({ page }) => {
  await page.getByRole('button', { name: 'Use camera' }).click();
  await expect(page.locator('#error')).toContainText(/camera/i);
  await expect(page.getByRole('button', { name: 'Use camera' })).toHaveAttribute('aria-pressed', 'false');
  await expectStillClassifies(page);
});

test('runs an .onnx model the user brings', async ({ page }) => {
  await page.locator('#byom-labels').fill(FASHION_LABELS);
  await page.locator('#byom-input').setInputFiles(join(MODELS_DIR, 'fashion-mnist/1.0.0/model.onnx'));
  await expect(page.locator('#byom-summary')).toContainText('model.onnx: onnx (float32), input "input" [batch, 1, 28, 28] NCHW, 28×28×1, 10 classes');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('dd[data-key="model"]')).toContainText('byom');
  await expect(page.locator('#model-select')).toHaveValue('byom');
  await expectStillClassifies(page);
  await expectStillClassifies(page, 'Sneaker');
});

test('runs a TF.js model.json with its weights that the user brings', async ({ page }) => {
  await page.locator('#byom-labels').fill('Drawing, Hentai, Neutral, Porn, Sexy');
  await page.locator('#byom-input').setInputFiles([join(MODELS_DIR, 'content-safety/1.0.0/model.json'), join(MODELS_DIR, 'content-safety/1.0.0/group1-shard1of1.bin')]);
  await expect(page.locator('#byom-summary')).toContainText('tfjs-layers (uint8), input "input_1" [batch, 224, 224, 3] NHWC');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await page.getByRole('button', { name: 'Sample: Bag' }).first().click();
  await expect(page.locator('#predictions li')).toHaveCount(5);
  const labels = (await page.locator('#predictions li').allTextContents()).map((text) => text.split(' — ')[0]);
  expect(new Set(labels)).toEqual(new Set(['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']));
});

test('a broken model file says what is wrong, and the loaded model keeps working', async ({ page }) => {
  const real = readFileSync(join(MODELS_DIR, 'fashion-mnist/1.0.0/model.onnx'));
  await page.locator('#byom-input').setInputFiles({ name: 'broken.onnx', mimeType: 'application/octet-stream', buffer: real.subarray(0, 5000) });
  await expect(page.locator('#error')).toContainText('Your model could not be used');
  await expect(page.locator('#model-select')).toHaveValue('fashion-mnist');
  await expectStillClassifies(page);

  await page.locator('#byom-input').setInputFiles({ name: 'model.json', mimeType: 'application/json', buffer: Buffer.from('{"modelTopology": {}, "weightsManifest": [{"paths": ["w.bin"], "weights": []}]}') });
  await expect(page.locator('#error')).toContainText('needs w.bin');
  await expectStillClassifies(page, 'Bag');
});
