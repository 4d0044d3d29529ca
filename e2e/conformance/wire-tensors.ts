// Tensors as they travel between Node and the page in the conformance runs: { dtype, dims, data }
// with data as base64 of the little-endian bytes (strings as an array), the probe file's own form.
// Self-contained on purpose: Playwright specs import it without the `source` export condition.

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

function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

export function wireValues(wire: WireTensor): (number | string)[] {
  const data = fromWire(wire);
  if (wire.dtype === 'float16') return Array.from(data as Uint16Array, float16ToNumber);
  return Array.from(data as ArrayLike<number | bigint | string>, (value) => (typeof value === 'bigint' ? Number(value) : value));
}

export interface Tolerance {
  readonly absolute: number;
  readonly relative: number;
}

/** The first disagreement of `actual` with `expected` (NaN must match NaN), or undefined. */
export function compareWire(name: string, expected: WireTensor, actual: WireTensor | undefined, tolerance: Tolerance): string | undefined {
  if (!actual) return `output "${name}" is missing`;
  const boolish = (dtype: string) => (dtype === 'bool' ? 'uint8' : dtype);
  if (boolish(expected.dtype) !== boolish(actual.dtype)) return `output "${name}" is ${actual.dtype}, expected ${expected.dtype}`;
  if (expected.dims.join() !== actual.dims.join() || expected.dims.length !== actual.dims.length) return `output "${name}" has dims [${actual.dims}], expected [${expected.dims}]`;
  const want = wireValues(expected);
  const got = wireValues(actual);
  for (let i = 0; i < want.length; i++) {
    const e = want[i]!;
    const a = got[i]!;
    const ok =
      typeof e === 'string' || typeof a === 'string'
        ? e === a
        : Number.isNaN(e)
          ? Number.isNaN(a)
          : !Number.isFinite(e)
            ? e === a
            : Math.abs(a - e) <= tolerance.absolute + tolerance.relative * Math.abs(e);
    if (!ok) return `output "${name}"[${i}] is ${String(a)}, expected ${String(e)}`;
  }
  return undefined;
}

/** A probe file's text, from wire tensors. */
export function probeText(inputs: Record<string, WireTensor>, outputs: Record<string, WireTensor>): string {
  return `${JSON.stringify({ inputs, outputs })}\n`;
}
