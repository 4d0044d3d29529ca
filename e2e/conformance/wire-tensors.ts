// Tensors as they travel between Node and the page in the conformance runs: { dtype, dims, data }
// with data as base64 of the little-endian bytes (strings as an array), the probe file's own form.

import { compareTensor, createTensor, type ProbeTolerance } from '@edgeinfer/core';

export type WireDtype = 'float32' | 'float64' | 'float16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool' | 'string';

export interface WireTensor {
  readonly dtype: WireDtype;
  readonly dims: number[];
  readonly data: string | string[];
}

export const WIRE_DTYPES: readonly WireDtype[] = ['float32', 'float64', 'float16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string'];

const VIEWS = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
} as const;

export type WireData = InstanceType<(typeof VIEWS)[keyof typeof VIEWS]> | string[];

export function toWire(dtype: WireDtype, dims: readonly number[], data: WireData): WireTensor {
  if (dtype === 'string') return { dtype, dims: [...dims], data: [...(data as string[])] };
  const view = data as ArrayBufferView;
  return { dtype, dims: [...dims], data: Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64') };
}

export function fromWire(wire: WireTensor): WireData {
  if (wire.dtype === 'string') return [...(wire.data as string[])];
  const bytes = Buffer.from(wire.data as string, 'base64');
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new VIEWS[wire.dtype](copy.buffer);
}

export type Tolerance = ProbeTolerance;

const toTensor = (wire: WireTensor) => createTensor(wire.dtype, fromWire(wire) as never, wire.dims);

/** The first disagreement of `actual` with `expected` (NaN must match NaN), or undefined: the engine's own probe comparison. */
export function compareWire(name: string, expected: WireTensor, actual: WireTensor | undefined, tolerance: Tolerance): string | undefined {
  return compareTensor(name, toTensor(expected), actual && toTensor(actual), tolerance)?.message;
}

/** A probe file's text, from wire tensors. */
export function probeText(inputs: Record<string, WireTensor>, outputs: Record<string, WireTensor>): string {
  return `${JSON.stringify({ inputs, outputs })}\n`;
}
