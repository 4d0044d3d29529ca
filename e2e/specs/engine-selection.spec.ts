import type {} from '../../demo/test-harness.js';
import { expect, test } from '../fixtures.js';
import { FASHION, openHarness } from '../support/harness.js';

test.describe('backend selection on this machine (SwiftShader WebGPU and WebGL, real WASM)', () => {
  test('auto picks wasm, and says the WebGPU adapter is a software one', async ({ page, capabilities }) => {
    expect(capabilities.webgpu.available, 'this machine exposes a WebGPU adapter').toBe(true);
    await openHarness(page);
    const info = await page.evaluate(async (ref) => (await window.edgeinfer.createEngine().load(ref)).info, FASHION);
    expect(info.backend).toBe('ort-wasm');
    const webgpu = info.candidates.find((candidate) => candidate.backend === 'ort-webgpu');
    expect(webgpu?.reason).toMatch(/software adapter/i);
    expect(info.candidates.findIndex((candidate) => candidate.backend === 'ort-webgpu')).toBeGreaterThan(
      info.candidates.findIndex((candidate) => candidate.backend === 'ort-wasm'),
    );
  });

  test("select: 'benchmark' times the candidates once, then remembers the winner across page loads", async ({ page }) => {
    await openHarness(page);
    const first = await page.evaluate(async (ref) => (await window.edgeinfer.createEngine().load(ref, { select: 'benchmark' })).info, FASHION);
    expect(first.selectionReason).toMatch(/^benchmark trial: p50 /);
    const timed = [...first.selectionReason.matchAll(/(\S+)\/\S+ ([\d.]+) ms/g)].map((match) => ({ backend: match[1]!, ms: Number(match[2]) }));
    expect(timed.length).toBeGreaterThanOrEqual(3);
    expect(first.backend).toBe(timed[0]!.backend); // the fastest measured one

    await page.reload();
    await openHarness(page);
    const second = await page.evaluate(async (ref) => (await window.edgeinfer.createEngine().load(ref, { select: 'benchmark' })).info, FASHION);
    expect(second.selectionReason).toMatch(/^benchmark winner remembered/);
    expect(second.backend).toBe(first.backend);
  });

  test('the same API runs without a worker (worker: false)', async ({ page }) => {
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const engine = window.edgeinfer.createEngine({ worker: false });
      const model = await engine.load(ref, { backends: ['wasm'] });
      const result = await model.run({ input: window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]) });
      return { backend: result.backend, dims: result.output.dims, workers: window.edgeinfer.workers.length };
    }, FASHION);
    expect(outcome).toEqual({ backend: 'ort-wasm', dims: [1, 10], workers: 0 });
  });
});
