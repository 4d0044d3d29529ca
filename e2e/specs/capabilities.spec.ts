import { expect, test } from '../fixtures.js';

test('the browser under test offers WebGPU, WebGL2, WASM SIMD and cross-origin isolation', async ({ page, capabilities }) => {
  await page.goto('/');
  expect(capabilities.webgpu.available, 'WebGPU adapter').toBe(true);
  expect(capabilities.webgl2, 'WebGL2').toBe(true);
  expect(capabilities.wasmSimd, 'WASM SIMD').toBe(true);
  expect(await page.evaluate(() => crossOriginIsolated), 'the app page is cross-origin isolated (COOP/COEP)').toBe(true);
});
