import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isEdgeInferError } from '@edgeinfer/core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { evaluateQuantized, quantizeModel, readLabels, readSamples, toFeeds } from '../src/index.ts';
import { buildModel, decodeGraph, floatValues, int8Values } from './tiny-models.ts';

const models = fileURLToPath(new URL('../../../models/', import.meta.url));

describe('quantizeModel on the Fashion-MNIST model', () => {
  it('produces an int8 model that onnxruntime runs and that agrees with float32 on >= 99% of 200 test images', async () => {
    const float32 = new Uint8Array(readFileSync(`${models}fashion-mnist/1.0.0/model.onnx`));
    const samples = readSamples(`${models}fashion-mnist/eval/test-1000.bin`, [1, 28, 28], { mean: [0.286], std: [0.353] }, 200);
    const labels = readLabels(`${models}fashion-mnist/eval/test-1000-labels.bin`).subarray(0, 200);

    const { model, report } = await quantizeModel(float32, { mode: 'static', calibration: toFeeds('input', samples, 50) });
    const evaluation = await evaluateQuantized(float32, model, { inputName: 'input', samples, labels });

    expect(evaluation.top1Agreement).toBeGreaterThanOrEqual(0.99);
    expect(evaluation.accuracy?.dropPoints).toBeLessThanOrEqual(1);
    expect(report.sizeRatio).toBeLessThanOrEqual(0.3);
    expect(report.warnings).toEqual([]);
    const graph = decodeGraph(model);
    // Inputs and outputs are unchanged, so apps need no code change.
    expect(graph.input.map((input) => input.name)).toEqual(['input']);
    expect(graph.output.map((output) => output.name)).toEqual(['logits']);
    // Weights stay int8 on the wire, behind DequantizeLinear, so a runtime can fold them to float32 once.
    expect(graph.initializer.filter((tensor) => tensor.dataType === 3).map((tensor) => tensor.name)).toContain('fc1.weight_quantized');
    expect(graph.initializer.some((tensor) => tensor.name === 'fc1.weight')).toBe(false);
  });
});

describe('per-channel weights', () => {
  // Conv weight [2 out, 1 in, 1, 2]: channel 0 max |w| 1.27, channel 1 max |w| 2.54.
  // Gemm weight with transB = 0 is [K = 2, N = 3]: its channels are the 3 columns.
  const tiny = buildModel({
    input: { name: 'x', dims: ['batch', 1, 1, 2] },
    output: { name: 'y', dims: ['batch', 3] },
    initializers: {
      w: { dims: [2, 1, 1, 2], values: [0.5, -1.27, 2.54, 1] },
      g: { dims: [2, 3], values: [0.1, -0.4, 3, -0.2, 0.3, 1.5] },
    },
    nodes: [
      { opType: 'Conv', name: 'conv', inputs: ['x', 'w'], outputs: ['c'] },
      { opType: 'Flatten', name: 'flatten', inputs: ['c'], outputs: ['f'] },
      { opType: 'Gemm', name: 'gemm', inputs: ['f', 'g'], outputs: ['y'], ints: { transB: 0 } },
    ],
  });

  it('gives each output channel scale max|w| / 127 along the right axis, Gemm transB included', async () => {
    const { model, report } = await quantizeModel(tiny, { mode: 'dynamic' });
    const graph = decodeGraph(model);
    const initializer = (name: string) => graph.initializer.find((tensor) => tensor.name === name);
    const dequantizeAxis = (input: string) => graph.node.find((node) => node.opType === 'DequantizeLinear' && node.input?.[0] === input)?.attribute?.[0]?.i;

    expect(floatValues(initializer('w_scale') ?? {})).toEqual([1.27 / 127, 2.54 / 127].map(Math.fround));
    expect(int8Values(initializer('w_quantized') ?? {})).toEqual([50, -127, 127, 50]);
    expect(Number(dequantizeAxis('w_quantized'))).toBe(0);
    expect(floatValues(initializer('g_scale') ?? {})).toEqual([0.2 / 127, 0.4 / 127, 3 / 127].map(Math.fround));
    expect(Number(dequantizeAxis('g_quantized'))).toBe(1);
    expect(report.quantizedNodes.map((node) => [node.name, node.weight?.axis])).toEqual([['conv', 0], ['gemm', 1]]);

    const float32 = await ort.InferenceSession.create(tiny);
    const int8 = await ort.InferenceSession.create(model);
    const feeds = { x: new ort.Tensor('float32', Float32Array.of(1, 2, -0.5, 0.25), [2, 1, 1, 2]) };
    const expected = (await float32.run(feeds)).y?.data as Float32Array;
    const actual = (await int8.run(feeds)).y?.data as Float32Array;
    // Rounding error only: inputs to the Gemm reach 4.5 and one step of its widest column is 3 / 127.
    actual.forEach((value, i) => expect(Math.abs(value - (expected[i] as number))).toBeLessThan(0.1));
  });
});

describe('bad input', () => {
  it('refuses a file that is not ONNX with quantize/not-onnx', async () => {
    const png = readFileSync(`${models}gallery/bag-0.png`);
    await expect(quantizeModel(new Uint8Array(png), { mode: 'dynamic' })).rejects.toSatisfy((error) => isEdgeInferError(error, 'quantize/not-onnx'));
    await expect(quantizeModel(new TextEncoder().encode('{"not": "a model"}'), { mode: 'dynamic' })).rejects.toSatisfy((error) =>
      isEdgeInferError(error, 'quantize/not-onnx'),
    );
  });

  const withSoftmax = (opset: number) =>
    buildModel({
      opset,
      input: { name: 'x', dims: ['batch', 4] },
      output: { name: 'p', dims: ['batch', 2] },
      initializers: { w: { dims: [4, 2], values: [1, -1, 0.5, 0.25, -0.75, 2, 0, 1] } },
      nodes: [
        { opType: 'MatMul', name: 'scores', inputs: ['x', 'w'], outputs: ['s'] },
        { opType: 'Softmax', name: 'probabilities', inputs: ['s'], outputs: ['p'], ints: { axis: 1 } },
      ],
    });

  it('leaves an op it cannot quantize in float32, names the node in the warnings, and the model still runs', async () => {
    const x = Float32Array.from({ length: 32 }, (_, i) => Math.sin(i));
    const { model, report } = await quantizeModel(withSoftmax(13), { mode: 'static', calibration: [{ x: { data: x, dims: [8, 4] } }] });

    expect(report.warnings.some((warning) => warning.includes('"probabilities"') && warning.includes('Softmax'))).toBe(true);
    expect(report.float32Nodes).toContainEqual(expect.objectContaining({ name: 'probabilities', opType: 'Softmax' }));
    expect(decodeGraph(model).node.find((node) => node.name === 'probabilities')?.opType).toBe('Softmax');
    const session = await ort.InferenceSession.create(model);
    const probabilities = (await session.run({ x: new ort.Tensor('float32', x, [8, 4]) })).p?.data as Float32Array;
    expect(probabilities[0]! + probabilities[1]!).toBeCloseTo(1, 5);
  });

  it('refuses an opset it cannot raise safely with quantize/unsupported-opset, and raises a safe one', async () => {
    await expect(quantizeModel(withSoftmax(9), { mode: 'dynamic' })).rejects.toSatisfy((error) => isEdgeInferError(error, 'quantize/unsupported-opset'));
    // Softmax changed meaning in opset 13, so an opset-11 model with it cannot just be relabelled.
    await expect(quantizeModel(withSoftmax(11), { mode: 'dynamic' })).rejects.toSatisfy((error) => isEdgeInferError(error, 'quantize/unsupported-opset'));
    const plain = buildModel({
      opset: 11,
      input: { name: 'x', dims: [1, 4] },
      output: { name: 'y', dims: [1, 2] },
      initializers: { w: { dims: [4, 2], values: [1, -1, 0.5, 0.25, -0.75, 2, 0, 1] } },
      nodes: [{ opType: 'MatMul', name: 'scores', inputs: ['x', 'w'], outputs: ['y'] }],
    });
    const { report } = await quantizeModel(plain, { mode: 'dynamic' });
    expect(report.opset).toBe(13);
    expect(report.warnings[0]).toMatch(/raised the opset declaration from 11 to 13/);
  });
});
