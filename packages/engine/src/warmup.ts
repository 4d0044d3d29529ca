import type { NamedTensors, Tensor, TensorSpec } from '@edgeinfer/core';

const ZERO_ARRAYS = {
  float32: (n: number) => new Float32Array(n),
  float16: (n: number) => new Uint16Array(n),
  int32: (n: number) => new Int32Array(n),
  int64: (n: number) => new BigInt64Array(n),
  int8: (n: number) => new Int8Array(n),
  uint8: (n: number) => new Uint8Array(n),
  bool: (n: number) => new Uint8Array(n),
} as const;

/** Zero inputs of the declared shapes, dynamic dims set to 1. */
export function warmupFeeds(specs: readonly TensorSpec[]): NamedTensors {
  const feeds: NamedTensors = {};
  for (const spec of specs) {
    const dims = spec.shape.map((dim) => (typeof dim === 'number' ? dim : 1));
    const count = dims.reduce((product, dim) => product * dim, 1);
    feeds[spec.name] = { dtype: spec.dtype, dims, data: ZERO_ARRAYS[spec.dtype](count) } as Tensor;
  }
  return feeds;
}

export function hasNonFinite(tensor: Tensor): boolean {
  if (!(tensor.data instanceof Float32Array)) return false;
  for (const value of tensor.data) if (!Number.isFinite(value)) return true;
  return false;
}
