import { EdgeInferError } from './errors.js';

export type TensorDtype = 'float32' | 'float16' | 'int32' | 'int64' | 'int8' | 'uint8' | 'bool';

export interface TensorDataByDtype {
  float32: Float32Array;
  float16: Uint16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  int8: Int8Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type TensorData = TensorDataByDtype[TensorDtype];

/** A plain, structured-cloneable tensor: what crosses the worker boundary and the backend contract. */
export interface Tensor<D extends TensorDtype = TensorDtype> {
  readonly dtype: D;
  readonly dims: readonly number[];
  readonly data: TensorDataByDtype[D];
}

export type NamedTensors = Record<string, Tensor>;

const ARRAY_TYPE_BY_DTYPE = {
  float32: Float32Array,
  float16: Uint16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  int8: Int8Array,
  uint8: Uint8Array,
  bool: Uint8Array,
} as const;

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((count, dim) => count * dim, 1);
}

export function createTensor<D extends TensorDtype>(dtype: D, data: TensorDataByDtype[D], dims: readonly number[]): Tensor<D> {
  const ArrayType = ARRAY_TYPE_BY_DTYPE[dtype];
  if (!(data instanceof ArrayType)) {
    throw new EdgeInferError('core/invalid-tensor', `A ${dtype} tensor needs a ${ArrayType.name}, got ${describe(data)}.`, {
      details: { dtype, expected: ArrayType.name },
    });
  }
  if (!dims.every((dim) => Number.isInteger(dim) && dim >= 0)) {
    throw new EdgeInferError('core/invalid-tensor', `Tensor dims must be non-negative integers, got [${dims.join(', ')}].`, {
      details: { dims: [...dims] },
    });
  }
  const expected = elementCount(dims);
  if (data.length !== expected) {
    throw new EdgeInferError(
      'core/invalid-tensor',
      `Tensor dims [${dims.join(', ')}] need ${expected} elements, but the data has ${data.length}.`,
      { details: { dims: [...dims], length: data.length } },
    );
  }
  return { dtype, data, dims: [...dims] };
}

export function isTensor(value: unknown): value is Tensor {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Tensor>;
  return typeof candidate.dtype === 'string' && candidate.dtype in ARRAY_TYPE_BY_DTYPE && Array.isArray(candidate.dims) && ArrayBuffer.isView(candidate.data);
}

/** Index of the largest values, best first: what a classifier's top-k needs. */
export function topK(scores: ArrayLike<number>, k: number): { index: number; score: number }[] {
  return Array.from({ length: scores.length }, (_, index) => ({ index, score: scores[index] as number }))
    .sort((a, b) => b.score - a.score)
    .slice(0, k);
}

export function softmax(logits: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i] as number);
  const out = new Float32Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += out[i] = Math.exp((logits[i] as number) - max);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / sum;
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
