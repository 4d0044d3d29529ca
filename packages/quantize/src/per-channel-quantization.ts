/** Symmetric int8 uses [-127, 127] so that zero is exact and the range is the same on both sides. */
export const INT8_SYMMETRIC_MAX = 127;

export interface PerChannelInt8 {
  readonly values: Int8Array;
  /** One scale per slice along `axis` (value = int8 * scale). */
  readonly scales: Float32Array;
  readonly axis: number;
}

/**
 * Per-channel symmetric int8: each slice along `axis` gets scale = max|w| / 127 and zero point 0.
 * An all-zero channel gets scale 1 so DequantizeLinear never divides into a zero scale.
 */
export function quantizePerChannel(weights: Float32Array, dims: readonly number[], axis: number): PerChannelInt8 {
  const channels = dims[axis] ?? 1;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (index: number): number => Math.floor(index / inner) % channels;
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < weights.length; i += 1) {
    const c = channelOf(i);
    const magnitude = Math.abs(weights[i] as number);
    if (magnitude > (maxAbs[c] as number)) maxAbs[c] = magnitude;
  }
  const scales = maxAbs.map((max) => (max > 0 ? max / INT8_SYMMETRIC_MAX : 1));
  const values = new Int8Array(weights.length);
  for (let i = 0; i < weights.length; i += 1) {
    const q = Math.round((weights[i] as number) / (scales[channelOf(i)] as number));
    values[i] = Math.max(-INT8_SYMMETRIC_MAX, Math.min(INT8_SYMMETRIC_MAX, q));
  }
  return { values, scales, axis };
}

export interface ActivationRange {
  readonly min: number;
  readonly max: number;
}

export interface Uint8Params {
  readonly scale: number;
  readonly zeroPoint: number;
}

/** Asymmetric uint8 for activations; the range always contains 0 so that zero padding stays exact. */
export function uint8Params(range: ActivationRange): Uint8Params {
  const min = Math.min(0, range.min);
  const max = Math.max(0, range.max);
  if (!(max > min) || !Number.isFinite(max - min)) return { scale: 1, zeroPoint: 0 };
  const scale = (max - min) / 255;
  const zeroPoint = Math.max(0, Math.min(255, Math.round(-min / scale)));
  return { scale, zeroPoint };
}

const INT32_MAX = 2 ** 31 - 1;

/**
 * Bias as int32 with scale inputScale * weightScale[c], the form onnxruntime needs to fuse a QDQ
 * Conv/Gemm into one integer kernel. Undefined when a value would overflow int32.
 */
export function quantizeBias(bias: Float32Array, inputScale: number, weightScales: Float32Array): { values: Int32Array; scales: Float32Array } | undefined {
  const scales = new Float32Array(bias.length);
  const values = new Int32Array(bias.length);
  for (let c = 0; c < bias.length; c += 1) {
    const scale = inputScale * (weightScales[c] as number);
    const q = Math.round((bias[c] as number) / scale);
    if (!Number.isFinite(q) || Math.abs(q) > INT32_MAX) return undefined;
    scales[c] = scale;
    values[c] = q;
  }
  return { values, scales };
}
