import { EdgeInferError } from './errors.js';

/** Every tensor dtype onnxruntime-web carries. float16 travels as its IEEE-754 bits in a Uint16Array. */
export type TensorDtype = 'float32' | 'float64' | 'float16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool' | 'string';

export const TENSOR_DTYPES: readonly TensorDtype[] = ['float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string'];

export interface TensorDataByDtype {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  /** Strings are a plain array: structured clone copies it (it cannot be transferred). */
  string: string[];
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
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  bool: Uint8Array,
  string: Array,
} as const;

/** The array type that holds a dtype's values (Array for strings). */
export function arrayTypeOf(dtype: TensorDtype): (typeof ARRAY_TYPE_BY_DTYPE)[TensorDtype] {
  return ARRAY_TYPE_BY_DTYPE[dtype];
}

/** Zero-filled data of a dtype ('' for strings). */
export function allocateTensorData<D extends TensorDtype>(dtype: D, length: number): TensorDataByDtype[D] {
  if (dtype === 'string') return Array.from({ length }, () => '') as TensorDataByDtype[D];
  const ArrayType = ARRAY_TYPE_BY_DTYPE[dtype] as unknown as new (length: number) => TensorDataByDtype[D];
  return new ArrayType(length);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((count, dim) => count * dim, 1);
}

export function createTensor<D extends TensorDtype>(dtype: D, data: TensorDataByDtype[D], dims: readonly number[]): Tensor<D> {
  const ArrayType = ARRAY_TYPE_BY_DTYPE[dtype];
  if (!hasDataOf(dtype, data)) {
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

/** Whether `data` is the array type `dtype` needs (a string tensor needs an array of strings). */
export function hasDataOf(dtype: TensorDtype, data: unknown): boolean {
  if (dtype === 'string') return Array.isArray(data) && data.every((value) => typeof value === 'string');
  return data instanceof ARRAY_TYPE_BY_DTYPE[dtype];
}

export function isTensor(value: unknown): value is Tensor {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Tensor>;
  return typeof candidate.dtype === 'string' && Object.hasOwn(ARRAY_TYPE_BY_DTYPE, candidate.dtype) && Array.isArray(candidate.dims) && hasDataOf(candidate.dtype, candidate.data);
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
