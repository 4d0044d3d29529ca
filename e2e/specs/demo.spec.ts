import { expect, test } from '../fixtures.js';

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
    expect(errors).toEqual([]);
  });
}
