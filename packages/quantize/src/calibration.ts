import * as ort from 'onnxruntime-node';
import { encodeModel, onnx, type GraphProto, type ModelProto } from './onnx-model.js';
import type { ActivationRange } from './per-channel-quantization.js';

export interface FloatTensorData {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** One run's inputs, by graph input name. */
export type Feeds = Readonly<Record<string, FloatTensorData>>;

export type CalibrationMethod = 'minmax' | 'percentile';

export interface CalibrationOptions {
  readonly method?: CalibrationMethod;
  /** For 'percentile': keep this share of values inside the range (default 99.99). */
  readonly percentile?: number;
}

/** Values examined per tensor and batch in percentile mode (a strided sample keeps it fast). */
const PERCENTILE_SAMPLE = 65536;

/**
 * Runs the fp32 model with every tensor in `tensorNames` exposed as an extra graph output and
 * returns each tensor's range over all feeds: min/max, or per-batch percentiles averaged over batches.
 */
export async function calibrateRanges(
  model: ModelProto,
  tensorNames: readonly string[],
  feeds: readonly Feeds[],
  options: CalibrationOptions = {},
): Promise<Map<string, ActivationRange>> {
  const method = options.method ?? 'minmax';
  const augmented = onnx.ModelProto.decode(encodeModel(model));
  const graph = augmented.graph as GraphProto;
  graph.output ??= [];
  const existing = new Set(graph.output.map((output) => output.name));
  for (const name of tensorNames) {
    if (!existing.has(name)) graph.output.push(onnx.ValueInfoProto.create({ name }));
  }
  const session = await ort.InferenceSession.create(encodeModel(augmented), { intraOpNumThreads: 2 });
  const sums = new Map<string, { min: number; max: number; count: number }>();
  try {
    for (const feed of feeds) {
      const inputs: Record<string, ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feed)) inputs[name] = new ort.Tensor('float32', tensor.data, tensor.dims);
      const outputs = await session.run(inputs, [...tensorNames]);
      for (const name of tensorNames) {
        const output = outputs[name];
        if (!output || output.type !== 'float32') continue;
        const range = method === 'minmax' ? minMax(output.data as Float32Array) : percentileRange(output.data as Float32Array, options.percentile ?? 99.99);
        const sum = sums.get(name);
        if (!sum) sums.set(name, { ...range, count: 1 });
        else if (method === 'minmax') sums.set(name, { min: Math.min(sum.min, range.min), max: Math.max(sum.max, range.max), count: 1 });
        else sums.set(name, { min: sum.min + range.min, max: sum.max + range.max, count: sum.count + 1 });
      }
    }
  } finally {
    await session.release();
  }
  const ranges = new Map<string, ActivationRange>();
  for (const [name, sum] of sums) ranges.set(name, { min: sum.min / sum.count, max: sum.max / sum.count });
  return ranges;
}

function minMax(values: Float32Array): ActivationRange {
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    if (value < min) min = value;
    if (value > max) max = value;
  }
  return { min, max };
}

function percentileRange(values: Float32Array, percentile: number): ActivationRange {
  const stride = Math.max(1, Math.floor(values.length / PERCENTILE_SAMPLE));
  const sample = new Float32Array(Math.ceil(values.length / stride));
  for (let i = 0, j = 0; i < values.length; i += stride, j += 1) sample[j] = values[i] as number;
  sample.sort();
  const at = (p: number): number => sample[Math.min(sample.length - 1, Math.max(0, Math.round((p / 100) * (sample.length - 1))))] as number;
  return { min: at(100 - percentile), max: at(percentile) };
}
