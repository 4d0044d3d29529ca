import { readFileSync } from 'node:fs';
import { basename, dirname, relative } from 'node:path';
import { allocateTensorData, elementCount, mulberry32, type ModelFormat, type NamedTensors, type Preprocessing, type Probe, type ProbeTolerance, type Tensor, type TensorDtype, type TensorSpec } from '@edgeinfer/core';
import type { GraphModel, LayersModel } from '@tensorflow/tfjs';
import { invalidInput } from './manifest-file.js';

/**
 * The reference probe (shared contract with the engine's check, packages/core/src/probe.ts): a
 * deterministic seeded input and the outputs a trusted runtime computes for it in Node —
 * onnxruntime-node for ONNX, TF.js on its cpu backend for TF.js. The engine runs the same input on
 * each candidate backend and refuses one whose outputs are out of tolerance.
 */

export interface ProbeRequest {
  readonly format: ModelFormat;
  /** Absolute paths, entry first (the .onnx, or model.json and its weights). */
  readonly files: readonly string[];
  /** The version's declared inputs and outputs: the probe is keyed by these names. */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** For image inputs: the pixels are drawn in [0, 1] and normalised like real images. */
  readonly preprocessing?: Preprocessing;
  readonly seed?: number;
  readonly tolerance?: ProbeTolerance;
}

/** Named (dynamic) dims become 1: one sample is all a check needs. */
const concreteDims = (spec: TensorSpec) => spec.shape.map((dim) => (typeof dim === 'number' ? dim : 1));

/** A seeded input that respects the declared dtype; image inputs look like normalised pixels, not noise around 0. */
export function probeInputs(inputs: readonly TensorSpec[], preprocessing: Preprocessing | undefined, seed = 17): NamedTensors {
  const next = mulberry32(seed);
  const feeds: NamedTensors = {};
  inputs.forEach((spec, inputIndex) => {
    const dims = concreteDims(spec);
    const count = elementCount(dims);
    const image = inputIndex === 0 && preprocessing && dims.length === 4 && (spec.dtype === 'float32' || spec.dtype === 'float64');
    const data = allocateTensorData(spec.dtype, count);
    for (let index = 0; index < count; index++) {
      const u = next();
      if (image) {
        const channel = preprocessing.layout === 'NCHW' ? Math.floor(index / (dims[2]! * dims[3]!)) % dims[1]! : index % dims[3]!;
        const pixel = preprocessing.invert ? 1 - u : u;
        (data as Float32Array)[index] = (pixel - (preprocessing.mean[channel] ?? 0)) / (preprocessing.std[channel] ?? 1);
        continue;
      }
      switch (spec.dtype) {
        case 'float32':
        case 'float64':
          (data as Float32Array)[index] = u * 2 - 1;
          break;
        case 'int64':
          (data as BigInt64Array)[index] = BigInt(Math.floor(u * 10));
          break;
        case 'uint64':
          (data as BigUint64Array)[index] = BigInt(Math.floor(u * 10));
          break;
        case 'bool':
          (data as Uint8Array)[index] = u < 0.5 ? 0 : 1;
          break;
        case 'string':
          (data as string[])[index] = `probe-${Math.floor(u * 1000)}`;
          break;
        case 'float16':
          throw invalidInput(`Input "${spec.name}" is float16: a seeded float16 probe input is not supported yet; add the variant with --no-probe.`, { input: spec.name });
        default:
          // Small non-negative integers: valid indices, sizes and token ids for most models.
          (data as Int32Array)[index] = Math.floor(u * 10);
      }
    }
    feeds[spec.name] = { dtype: spec.dtype, dims, data } as Tensor;
  });
  return feeds;
}

export async function computeProbe(request: ProbeRequest): Promise<Probe> {
  const inputs = probeInputs(request.inputs, request.preprocessing, request.seed);
  const outputs = request.format === 'onnx' ? await runOnnx(request, inputs) : await runTfjs(request, inputs);
  return { inputs, outputs, ...(request.tolerance ? { tolerance: request.tolerance } : {}) };
}

const ORT_DTYPES: Partial<Record<string, TensorDtype>> = { float32: 'float32', float64: 'float64', float16: 'float16', int8: 'int8', uint8: 'uint8', int16: 'int16', uint16: 'uint16', int32: 'int32', uint32: 'uint32', int64: 'int64', uint64: 'uint64', bool: 'bool', string: 'string' };

async function runOnnx(request: ProbeRequest, inputs: NamedTensors): Promise<NamedTensors> {
  const ort = await import('onnxruntime-node');
  // One thread and no graph rewrites that reorder float sums: the reference should be plain.
  const session = await ort.InferenceSession.create(readFileSync(request.files[0]!), { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'basic' });
  try {
    const feeds = Object.fromEntries(
      Object.entries(inputs).map(([name, tensor]) => [name, new ort.Tensor(tensor.dtype === 'bool' ? 'bool' : tensor.dtype, tensor.data as never, [...tensor.dims])]),
    );
    const results = await session.run(feeds);
    const outputs: NamedTensors = {};
    for (const spec of request.outputs) {
      const result = results[spec.name];
      const dtype = result && ORT_DTYPES[result.type];
      if (!result || !dtype) throw invalidInput(`onnxruntime-node gave no usable output "${spec.name}" for the probe (outputs: ${Object.keys(results).join(', ')}).`, { output: spec.name });
      outputs[spec.name] = { dtype, dims: [...result.dims].map(Number), data: result.data as never } as Tensor;
    }
    return outputs;
  } finally {
    await session.release();
  }
}

async function runTfjs(request: ProbeRequest, inputs: NamedTensors): Promise<NamedTensors> {
  const tf = await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  await tf.ready();
  const entry = request.files[0]!;
  const json = JSON.parse(readFileSync(entry, 'utf8')) as { format?: string; modelTopology: object; weightsManifest: { paths: string[]; weights: never[] }[] };
  const weightBuffers = json.weightsManifest.flatMap((group) => group.paths.map((path) => readFileSync(`${dirname(entry)}/${path}`)));
  const weightData = new Uint8Array(weightBuffers.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of weightBuffers) {
    weightData.set(part, offset);
    offset += part.byteLength;
  }
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
    weightData: weightData.buffer,
    ...(json.format ? { format: json.format } : {}),
  });
  const graph = request.format === 'tfjs-graph';
  const model = graph ? await tf.loadGraphModel(handler) : await tf.loadLayersModel(handler);
  try {
    const modelInputs = graph ? (model as GraphModel).inputs : (model as LayersModel).inputs;
    // The same NCHW -> NHWC rule as the tfjs backend: the manifest's inputs are shared with the ONNX variant.
    const feeds = request.inputs.map((spec, index) => {
      const tensor = inputs[spec.name]!;
      let value = tf.tensor(tensor.data as Float32Array, [...tensor.dims], tensor.dtype === 'int32' ? 'int32' : 'float32');
      const expected = modelInputs[index]?.shape ?? [];
      const dims = tensor.dims;
      if (dims.length === 4 && expected.length === 4) {
        const [, h, w, c] = expected;
        if (dims[1] === c && dims[2] === h && dims[3] === w && !(dims[1] === h && dims[2] === w && dims[3] === c)) value = tf.transpose(value, [0, 2, 3, 1]);
      }
      return value;
    });
    const raw = graph ? await (model as GraphModel).executeAsync(feeds.length === 1 ? feeds[0]! : feeds) : (model as LayersModel).predict(feeds.length === 1 ? feeds[0]! : feeds);
    const list = Array.isArray(raw) ? raw : [raw];
    const outputs: NamedTensors = {};
    for (const [index, spec] of request.outputs.entries()) {
      const result = list[index];
      if (!result) throw invalidInput(`TF.js gave ${list.length} output(s); the version declares ${request.outputs.length}.`, { output: spec.name });
      outputs[spec.name] = { dtype: 'float32', dims: [...result.shape], data: Float32Array.from(await result.data()) };
    }
    tf.dispose([...feeds, ...list]);
    return outputs;
  } finally {
    model.dispose();
  }
}

export const describeProbeFile = (path: string, cwd = process.cwd()) => relative(cwd, path) || basename(path);
