import type {} from '../../demo/test-harness.js';
import { readFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import type { PageResult } from '../conformance/compare-case.js';
import { onnxNodeReference } from '../conformance/onnx-node-reference.js';
import { compareWire, fromWire, probeText, toWire, type WireTensor } from '../conformance/wire-tensors.js';
import { expect, test } from '../fixtures.js';
import { DOUBLE, LOG_DIVISION, MASKED_MEAN, SHAPE_INPUT, TWO_OUTPUTS, buildOnnx, fourOutputGraph, whileLoopGraph, type TfjsGraphModel } from '../support/check-models.js';
import { openHarness } from '../support/harness.js';

/**
 * Load-time checks that cannot reject a valid model, reference probes that catch a wrong backend,
 * and outputs returned under their own names, all through createEngine() (worker mode) with
 * in-memory manifests, against references computed in Node (onnxruntime-node, TF.js cpu).
 */
const PAGE_SCRIPT = readFileSync(new URL('../conformance/conformance-page.js', import.meta.url), 'utf8');
const FLOAT = { absolute: 1e-4, relative: 1e-4 };

interface Case {
  name: string;
  format?: 'onnx' | 'tfjs-graph';
  modelBase64?: string;
  tfjs?: { modelJson: object; weightsBase64: string };
  inputs: { name: string; tensor: WireTensor }[];
  outputs: { name: string; tensor: WireTensor }[];
  variants?: { name: string; probe?: { text: string; tolerance?: { absolute: number; relative: number } } }[];
}

async function runCase(page: Page, testCase: Case, backends: string[]): Promise<PageResult> {
  await page.addScriptTag({ content: PAGE_SCRIPT });
  return page.evaluate(
    async ({ testCase, backends }) => {
      const engine = window.edgeinfer.createEngine();
      try {
        return await (window as unknown as { __conformance: { runEngineCase: (...args: unknown[]) => Promise<PageResult> } }).__conformance.runEngineCase(engine, testCase, backends);
      } finally {
        await engine.dispose();
      }
    },
    { testCase, backends },
  );
}

const f32 = (dims: number[], values: number[]) => toWire('float32', dims, Float32Array.from(values));
const i64 = (dims: number[], values: number[]) => toWire('int64', dims, BigInt64Array.from(values.map(BigInt)));

async function onnxCase(name: string, spec: Parameters<typeof buildOnnx>[0], feeds: Record<string, WireTensor>, outputOrder?: string[]): Promise<Case> {
  const model = buildOnnx(spec);
  const reference = await onnxNodeReference(model, feeds);
  const names = outputOrder ?? Object.keys(reference);
  return {
    name,
    modelBase64: Buffer.from(model).toString('base64'),
    inputs: Object.entries(feeds).map(([input, tensor]) => ({ name: input, tensor })),
    outputs: names.map((output) => ({ name: output, tensor: reference[output]! })),
  };
}

function expectOutputs(result: PageResult, testCase: Case) {
  expect(result.status, `${result.code}: ${result.message}`).toBe('ran');
  for (const expected of testCase.outputs) expect(compareWire(expected.name, expected.tensor, result.outputs?.[expected.name], FLOAT), expected.name).toBeUndefined();
}

/** Valid models whose right answers on zeros or on real inputs include NaN/-Infinity, or that zeros would break. */
const VALID_CASES = () =>
  Promise.all([
    onnxCase('log-division', LOG_DIVISION, { x: f32([2, 3], [0, 1, 2, -1, 4, 0.5]), y: f32([2, 3], [0, 2, 0, 4, -2, 0.25]) }),
    onnxCase('shape-input', SHAPE_INPUT, { x: f32([2, 1], [1.5, -2]), shape: i64([2], [2, 3]) }),
    onnxCase('masked-mean', MASKED_MEAN, { x: f32([1, 4], [1, 2, 3, 4]), mask: i64([1, 4], [0, 0, 0, 0]) }),
  ]);

test('models with log/division, a shape-like int64 input and an all-zeros mask load and answer right on ort-wasm', async ({ page }) => {
  await openHarness(page);
  const cases = await VALID_CASES();
  for (const testCase of cases) {
    const result = await runCase(page, testCase, ['ort-wasm']);
    expectOutputs(result, testCase);
    expect(result.backend, testCase.name).toBe('ort-wasm');
    expect(result.fallbacks, testCase.name).toEqual([]);
  }
});

/**
 * Measured here (SwiftShader): ort-webgpu answers log(0) with -88.03 instead of -Infinity, finite
 * and wrong, with no GPU error. Only a reference probe can catch that: with the probe a publisher
 * ships (computed by onnxruntime-node), each model answers right, from WebGPU when it agrees, else
 * from wasm with the disagreement recorded.
 */
test('the same models with WebGPU first and a Node-computed probe answer right, and any WebGPU disagreement is recorded', async ({ page, requireWebGpu }) => {
  await requireWebGpu();
  await openHarness(page);
  const cases = await VALID_CASES();
  for (const testCase of cases) {
    const inputs = Object.fromEntries(testCase.inputs.map((entry) => [entry.name, entry.tensor]));
    const outputs = Object.fromEntries(testCase.outputs.map((entry) => [entry.name, entry.tensor]));
    const result = await runCase(page, { ...testCase, variants: [{ name: 'fp32', probe: { text: probeText(inputs, outputs), tolerance: FLOAT } }] }, ['ort-webgpu', 'ort-wasm']);
    expectOutputs(result, testCase);
    if (result.backend === 'ort-webgpu') expect(result.fallbacks, testCase.name).toEqual([]);
    else expect(result.fallbacks, testCase.name).toEqual([expect.objectContaining({ backend: 'ort-webgpu', code: 'engine/probe-mismatch' })]);
  }
});

for (const backend of ['ort-wasm', 'ort-webgpu']) {
  test(`ONNX outputs come back under their own names on ${backend} (manifest order differs from the graph's)`, async ({ page, requireWebGpu }) => {
    if (backend === 'ort-webgpu') await requireWebGpu();
    await openHarness(page);
    const testCase = await onnxCase('two-outputs', TWO_OUTPUTS, { x: f32([2, 3], [1, 2, 3, 4, 5, 6]) }, ['transposed', 'total']);
    const result = await runCase(page, testCase, [backend]);
    expectOutputs(result, testCase);
    expect(result.outputs!.transposed!.dims).toEqual([3, 2]);
    expect(result.outputs!.total!.dims).toEqual([]);
  });
}

test('a reference probe that disagrees makes the engine fall back, with engine/probe-mismatch in model.info.fallbacks', async ({ page }) => {
  await openHarness(page);
  const base = await onnxCase('double', DOUBLE, { x: f32([1, 4], [1, -2, 3.5, 0]) });
  const input = { x: base.inputs[0]!.tensor };
  const right = probeText(input, { y: base.outputs[0]!.tensor });
  // Injected: the expected output of a tripling model, so every backend disagrees with this probe.
  const wrong = probeText(input, { y: f32([1, 4], [3, -6, 10.5, 0]) });
  const result = await runCase(page, { ...base, variants: [{ name: 'wrong-probe', probe: { text: wrong } }, { name: 'right-probe', probe: { text: right } }] }, ['ort-wasm']);
  expectOutputs(result, base);
  expect(result.variant).toBe('right-probe');
  expect(result.fallbacks).toEqual([expect.objectContaining({ backend: 'ort-wasm', variant: 'wrong-probe', code: 'engine/probe-mismatch', at: 'load' })]);
  expect(result.fallbacks[0]!.message).toMatch(/"y"\[0\] is 2, expected 3/);
});

test('with WebGPU first, a probe every backend disagrees with refuses the model and names each disagreement', async ({ page, requireWebGpu }) => {
  await requireWebGpu();
  await openHarness(page);
  const base = await onnxCase('double', DOUBLE, { x: f32([1, 4], [1, -2, 3.5, 0]) });
  const wrong = probeText({ x: base.inputs[0]!.tensor }, { y: f32([1, 4], [3, -6, 10.5, 0]) });
  const result = await runCase(page, { ...base, variants: [{ name: 'fp32', probe: { text: wrong } }] }, ['ort-webgpu', 'ort-wasm']);
  expect(result.status).toBe('error');
  expect(result.code).toBe('engine/backend-unavailable');
  expect(result.fallbacks.map((entry) => [entry.backend, entry.code])).toEqual([
    ['ort-webgpu', 'engine/probe-mismatch'],
    ['ort-wasm', 'engine/probe-mismatch'],
  ]);
});

async function tfjsReference(model: TfjsGraphModel, feeds: Record<string, { dims: number[]; values: number[] }>, outputs: string[]): Promise<Record<string, WireTensor>> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  const json = model.modelJson as { modelTopology: object; weightsManifest: { weights: never[] }[] };
  const weightData = model.weights.buffer.slice(model.weights.byteOffset, model.weights.byteOffset + model.weights.byteLength) as ArrayBuffer;
  const graph = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData, format: 'graph-model' }));
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, feed]) => [name, tf.tensor(feed.values, feed.dims)]));
  const results = [await graph.executeAsync(inputs, outputs)].flat();
  const named: Record<string, WireTensor> = {};
  for (const [index, name] of outputs.entries()) named[name] = toWire('float32', results[index]!.shape, Float32Array.from(await results[index]!.data()));
  tf.dispose([...results, ...Object.values(inputs)]);
  graph.dispose();
  return named;
}

function tfjsCase(name: string, model: TfjsGraphModel, feeds: Record<string, { dims: number[]; values: number[] }>, reference: Record<string, WireTensor>, outputOrder: string[]): Case {
  return {
    name,
    format: 'tfjs-graph',
    tfjs: { modelJson: model.modelJson, weightsBase64: Buffer.from(model.weights).toString('base64') },
    inputs: Object.entries(feeds).map(([input, feed]) => ({ name: input, tensor: f32(feed.dims, feed.values) })),
    outputs: outputOrder.map((output) => ({ name: output, tensor: reference[output]! })),
  };
}

for (const backend of ['tfjs-wasm', 'tfjs-webgl']) {
  test(`a TF.js graph model with a while loop runs on ${backend} (executeAsync) and matches TF.js cpu in Node`, async ({ page }) => {
    await openHarness(page);
    const model = whileLoopGraph();
    const feeds = { x: { dims: [1, 3], values: [1, -2.5, 3] } };
    const reference = await tfjsReference(model, feeds, ['y']);
    expect(Array.from(fromWire(reference.y!) as Float32Array)).toEqual([8, -20, 24]);
    const testCase = tfjsCase('while-loop', model, feeds, reference, ['y']);
    const result = await runCase(page, testCase, [backend]);
    expectOutputs(result, testCase);
    expect(result.backend).toBe(backend);
  });

  test(`a 4-output TF.js graph model returns each output under its own name on ${backend}`, async ({ page }) => {
    await openHarness(page);
    const model = fourOutputGraph();
    const feeds = { x: { dims: [2, 3], values: [1, 2, 3, 4, 5, 6] } };
    // The manifest lists the outputs in another order than the graph: matching by position would swap them.
    const order = ['squared', 'column_max', 'row_sums', 'negated'];
    const reference = await tfjsReference(model, feeds, order);
    const testCase = tfjsCase('four-outputs', model, feeds, reference, order);
    const result = await runCase(page, testCase, [backend]);
    expectOutputs(result, testCase);
    expect(Object.fromEntries(order.map((name) => [name, result.outputs![name]!.dims]))).toEqual({ squared: [2, 3], column_max: [1, 3], row_sums: [2], negated: [2, 3] });
  });
}
