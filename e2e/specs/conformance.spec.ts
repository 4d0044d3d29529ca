import type {} from '../../demo/test-harness.js';
import { readFileSync } from 'node:fs';
import { expect, test } from '../fixtures.js';
import { FASHION, openHarness } from '../support/harness.js';

/**
 * One conformance suite for every backend: the same 8 Fashion-MNIST test images through each
 * (backend, variant), compared with the logits torch computed in Node (models/fashion-mnist/1.0.0/reference.json).
 */
const reference = JSON.parse(readFileSync(new URL('../../models/fashion-mnist/1.0.0/reference.json', import.meta.url), 'utf8')) as {
  testIndices: number[];
  logits: number[][];
  top1: number[];
};

/** Float32 backends agree with torch to 1e-3 in logits; uint8/int8 weights move logits by up to ~0.2 (see the int8 reports). */
const CASES = [
  { backend: 'ort-wasm', variant: 'fp32', tolerance: 1e-3 },
  { backend: 'ort-webgpu', variant: 'fp32', tolerance: 1e-3 },
  { backend: 'tfjs-webgl', variant: 'tfjs', tolerance: 1e-3 },
  { backend: 'tfjs-webgpu', variant: 'tfjs', tolerance: 1e-3 },
  { backend: 'tfjs-wasm', variant: 'tfjs', tolerance: 1e-3 },
  { backend: 'tfjs-cpu', variant: 'tfjs', tolerance: 1e-3 },
  { backend: 'ort-wasm', variant: 'int8', tolerance: 0.5 },
  { backend: 'tfjs-webgl', variant: 'tfjs-uint8', tolerance: 0.5 },
] as const;

for (const { backend, variant, tolerance } of CASES) {
  test(`${backend} / ${variant} matches the reference logits computed in Node`, async ({ page, requireWebGpu }) => {
    if (backend.endsWith('webgpu')) await requireWebGpu();
    await openHarness(page);
    const result = await page.evaluate(
      async ({ ref, backend, variant, testIndices }) => {
        const pixels = new Uint8Array(await (await fetch('/models/fashion-mnist/eval/test-1000.bin')).arrayBuffer());
        const data = new Float32Array(testIndices.length * 784);
        testIndices.forEach((testIndex, row) => {
          for (let i = 0; i < 784; i++) data[row * 784 + i] = (pixels[testIndex * 784 + i]! / 255 - 0.286) / 0.353;
        });
        const engine = window.edgeinfer.createEngine();
        // Pinned: a random install id lands in the 1.1.0 canary one time in ten.
        const model = await engine.load(ref, { backends: [backend], variants: [variant], version: '1.0.0' });
        const { output } = await model.run({ input: window.edgeinfer.createTensor('float32', data, [testIndices.length, 1, 28, 28]) });
        await engine.dispose();
        return { backend: model.info.backend, variant: model.info.variant, dims: output.dims, logits: Array.from(output.data as Float32Array) };
      },
      { ref: FASHION, backend, variant, testIndices: reference.testIndices },
    );
    expect(result.backend).toBe(backend);
    expect(result.variant).toBe(variant);
    expect(result.dims).toEqual([reference.testIndices.length, 10]);
    let maxDiff = 0;
    reference.logits.forEach((row, r) => row.forEach((value, c) => (maxDiff = Math.max(maxDiff, Math.abs(value - result.logits[r * 10 + c]!)))));
    expect(maxDiff, `max |logit - reference| on ${backend}/${variant}`).toBeLessThanOrEqual(tolerance);
    const top1 = reference.logits.map((_, r) => {
      const row = result.logits.slice(r * 10, r * 10 + 10);
      return row.indexOf(Math.max(...row));
    });
    expect(top1).toEqual(reference.top1);
  });
}
