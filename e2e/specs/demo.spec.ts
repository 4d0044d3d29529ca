import { expect, test } from '../fixtures.js';

/** Collects every text the status line shows, so a spec can see the loading phases go by. */
const RECORD_STATUS = () => {
  const log: string[] = ((window as unknown as { __statusLog: string[] }).__statusLog = []);
  new MutationObserver(() => {
    const status = document.getElementById('status');
    if (status?.textContent && log.at(-1) !== status.textContent) log.push(status.textContent);
  }).observe(document, { subtree: true, childList: true, characterData: true });
};

for (const backend of ['wasm', 'webgpu', 'webgl'] as const) {
  test(`classifies a gallery image correctly on ${backend}`, async ({ page, requireWebGpu }, testInfo) => {
    if (backend === 'webgpu') await requireWebGpu();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`/?backend=${backend}`);
    await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
    await expect(page.locator('dd[data-key="backend"]')).toContainText(backend);
    await page.getByRole('button', { name: 'Sample: Ankle boot' }).first().click();
    await expect(page.locator('#predictions li').first()).toContainText('Ankle boot');
    await expect(page.locator('#latency')).toContainText(`on ${backend === 'webgl' ? 'tfjs-webgl' : `ort-${backend}`}`);
    await page.screenshot({ path: testInfo.outputPath(`demo-${backend}.png`), fullPage: true });
    // The README's picture: `UPDATE_DOCS=1 npx playwright test ... demo.spec.ts` refreshes it.
    if (process.env.UPDATE_DOCS && backend === 'wasm' && testInfo.project.name === 'dev') {
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.screenshot({ path: new URL('../../docs/demo-wasm.png', import.meta.url).pathname, fullPage: true });
    }
    expect(errors).toEqual([]);
  });
}

test('shows each loading phase on the first load and "served from cache" on reload', async ({ page }) => {
  await page.addInitScript(RECORD_STATUS);
  await page.goto('/?backend=wasm&variant=fp32');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  const firstLoad = await page.evaluate(() => (window as unknown as { __statusLog: string[] }).__statusLog);
  for (const phase of ['Downloading', 'Verifying', 'Caching', 'Compiling and warming up', 'Ready on ort-wasm']) {
    expect(firstLoad.some((text) => text.startsWith(phase)), `${phase} in ${JSON.stringify(firstLoad)}`).toBe(true);
  }
  await expect(page.locator('#cache-state')).toHaveText('Downloaded 425 kB, verified and cached: the next load works offline.');
  await expect(page.locator('#progress')).toHaveAttribute('aria-valuenow', '100');
  await expect(page.locator('#phases li[data-state="done"]')).toHaveCount(5);

  await page.reload();
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('#cache-state')).toHaveText(/^Served from cache, 425 kB, cached \d+ s ago\.$/);
  await expect(page.locator('#status')).toHaveText('Ready on ort-wasm (from cache).');
  const reload = await page.evaluate(() => (window as unknown as { __statusLog: string[] }).__statusLog);
  expect(reload.some((text) => text.startsWith('Downloading'))).toBe(false);

  // Clearing the cache makes the next load download again.
  await page.getByRole('button', { name: 'Clear cache' }).click();
  await expect(page.locator('#cache-state')).toContainText('Cache cleared');
  await page.getByRole('button', { name: 'Load', exact: true }).click();
  await expect(page.locator('#cache-state')).toHaveText(/^Downloaded 425 kB/);
});

test('classifies with the content-safety model and shows its five labels', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/?model=content-safety');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  await expect(page.locator('dd[data-key="model"]')).toContainText('content-safety 1.0.0');
  await expect(page.locator('dd[data-key="variant"]')).toContainText('uint8');
  await page.getByRole('button', { name: 'Sample: Sneaker' }).first().click();
  const rows = page.locator('#predictions li');
  await expect(rows).toHaveCount(5);
  const texts = await rows.allTextContents();
  const labels = texts.map((text) => text.split(' — ')[0]);
  expect(new Set(labels)).toEqual(new Set(['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']));
  // The model ends in softmax: its probabilities are shown as they are, and add up to 100 %.
  const total = texts.reduce((sum, text) => sum + Number(/([\d.]+)%/.exec(text)![1]), 0);
  expect(total).toBeGreaterThan(99);
  expect(total).toBeLessThan(101);
  expect(labels[0]).not.toMatch(/Porn|Hentai|Sexy/);
  expect(errors).toEqual([]);
});
