import type {} from '../../demo/test-harness.js';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { judge, type PageResult } from '../conformance/compare-case.js';
import { readCase, type NodeCase } from '../conformance/onnx-node-cases.js';
import { onnxNodeReference } from '../conformance/onnx-node-reference.js';
import { probeText } from '../conformance/wire-tensors.js';
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

/**
 * A representative subset of the ONNX backend node tests (Debian's libonnx-testdata), through the
 * engine: cases a zero-input check rejected (log, division, losses, shape-like int64 inputs, masks),
 * every tensor dtype onnxruntime-web carries, and kernels WebGPU gets wrong (float16, mixed-type
 * Pow, DequantizeLinear). The full suite runs under `npm run conformance` (summary in the README).
 */
const NODE_SUBSET = [
  'test_log', 'test_log_example', 'test_div', 'test_div_bcast', 'test_div_uint8', 'test_reciprocal', 'test_nllloss_NC', 'test_sce_mean', 'test_logsoftmax_large_number',
  'test_isnan', 'test_isinf', 'test_where_example', 'test_expand_dim_changed', 'test_onehot_with_axis', 'test_mod_mixed_sign_int64', 'test_mod_mixed_sign_int16',
  'test_reshape_reordered_all_dims', 'test_resize_upsample_sizes_nearest', 'test_unsqueeze_axis_0', 'test_tile', 'test_range_float_type_positive_delta', 'test_nonzero_example',
  'test_cast_FLOAT_to_DOUBLE', 'test_cast_DOUBLE_to_FLOAT', 'test_cast_FLOAT_to_FLOAT16', 'test_cast_FLOAT16_to_FLOAT', 'test_cast_STRING_to_FLOAT', 'test_castlike_STRING_to_FLOAT',
  'test_mod_uint16', 'test_max_uint32', 'test_max_uint64', 'test_max_uint8', 'test_mod_mixed_sign_float64',
  'test_pow_types_float32_int64', 'test_pow_types_int64_float32', 'test_dequantizelinear', 'test_gathernd_example_int32_batch_dim1',
  'test_matmul_2d', 'test_conv_with_strides_padding', 'test_layer_normalization_4d_axis0', 'test_softmax_axis_0', 'test_argmax_default_axis_random', 'test_einsum_batch_matmul',
];

const PAGE_SCRIPT = readFileSync(new URL('../conformance/conformance-page.js', import.meta.url), 'utf8');

async function runSubset(page: Page, cases: readonly NodeCase[], backends: string[]): Promise<PageResult[]> {
  await page.addScriptTag({ content: PAGE_SCRIPT });
  return page.evaluate(
    async ({ cases, backends }) => {
      const run = (window as unknown as { __conformance: { runEngineCase: (...args: unknown[]) => Promise<PageResult> } }).__conformance.runEngineCase;
      const engine = window.edgeinfer.createEngine();
      const results: PageResult[] = [];
      try {
        for (const testCase of cases) results.push(await run(engine, testCase, backends));
      } finally {
        await engine.dispose();
      }
      return results;
    },
    { cases, backends },
  );
}

test('ONNX node tests (subset) through the engine on wasm: every case answers as the ONNX reference says', async ({ page }) => {
  await openHarness(page);
  const cases = NODE_SUBSET.map((name) => readCase(name));
  expect(cases.filter((entry) => entry.unsupported)).toEqual([]);
  const results = await runSubset(page, cases, ['wasm']);
  const verdicts = cases.map((testCase, index) => ({ name: testCase.name, backend: results[index]!.backend, ...judge(testCase, results[index]!) }));
  expect(verdicts.filter((entry) => entry.verdict !== 'pass')).toEqual([]);
  expect(new Set(verdicts.map((entry) => entry.backend))).toEqual(new Set(['ort-wasm']));
});

test('ONNX node tests (subset) with WebGPU first and onnxruntime-node probes: no wrong answer is adopted silently', async ({ page, requireWebGpu }) => {
  await requireWebGpu();
  await openHarness(page);
  const cases = await Promise.all(
    NODE_SUBSET.map(async (name) => {
      const testCase = readCase(name);
      const inputs = Object.fromEntries(testCase.inputs.map((entry) => [entry.name, entry.tensor]));
      const outputs = await onnxNodeReference(Buffer.from(testCase.modelBase64, 'base64'), inputs);
      return { ...testCase, probe: { text: probeText(inputs, outputs), tolerance: { absolute: 1e-4, relative: 1e-3 } } };
    }),
  );
  const results = await runSubset(page, cases, ['webgpu', 'wasm']);
  const verdicts = cases.map((testCase, index) => ({ name: testCase.name, backend: results[index]!.backend, fallbacks: results[index]!.fallbacks, ...judge(testCase, results[index]!) }));
  expect(verdicts.filter((entry) => entry.verdict !== 'pass')).toEqual([]);
  // Whatever ran where, a case that left WebGPU says why in its fallbacks.
  for (const entry of verdicts.filter((verdict) => verdict.backend !== 'ort-webgpu')) expect(entry.fallbacks.length, entry.name).toBeGreaterThan(0);
});
