import { EdgeInferError } from './errors.js';
import { TENSOR_DTYPES, createTensor, elementCount, type NamedTensors, type Tensor, type TensorDtype } from './tensor.js';

/**
 * A reference probe: a small input and the outputs a trusted runtime (onnxruntime-node, TF.js cpu)
 * computed for it at publish time. The engine runs it on each candidate backend before adopting it:
 * kernels that are wrong but finite (WebGPU fp16, a shader that failed validation) are caught here
 * and nowhere else.
 *
 * File format (JSON): `{ inputs: { name: { dtype, dims, data } }, outputs: {...}, tolerance? }` where
 * `data` is the base64 of the little-endian typed array bytes (float16 as its bits, bool as one byte
 * each), or, for `string` tensors only, a JSON array of strings.
 */
export interface ProbeTolerance {
  readonly absolute: number;
  readonly relative: number;
}

export interface Probe {
  readonly inputs: NamedTensors;
  readonly outputs: NamedTensors;
  readonly tolerance?: ProbeTolerance;
}

export const DEFAULT_PROBE_TOLERANCE: ProbeTolerance = { absolute: 1e-3, relative: 1e-2 };

export interface ProbeMismatch {
  readonly output: string;
  /** Flat index of the first element out of tolerance (-1 when the output is missing or has other dims/dtype). */
  readonly index: number;
  readonly expected: string;
  readonly actual: string;
  readonly message: string;
}

interface SerializedTensor {
  dtype: TensorDtype;
  dims: number[];
  data: string | string[];
}

function invalid(path: string, problem: string): never {
  throw new EdgeInferError('core/invalid-probe', `Invalid probe at ${path}: ${problem}. Recompute the probe with the release tooling.`, { details: { path, problem } });
}

export function encodeBase64(bytes: Uint8Array): string {
  let binary = '';
  const chunk = 0x8000;
  for (let offset = 0; offset < bytes.length; offset += chunk) binary += String.fromCharCode(...bytes.subarray(offset, offset + chunk));
  return btoa(binary);
}

export function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const BYTES_PER_ELEMENT: Record<Exclude<TensorDtype, 'string'>, number> = {
  float32: 4, float64: 8, float16: 2, int8: 1, int16: 2, int32: 4, int64: 8, uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1,
};

const VIEW_BY_DTYPE = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
} as const;

export function serializeTensor(tensor: Tensor): SerializedTensor {
  if (tensor.dtype === 'string') return { dtype: 'string', dims: [...tensor.dims], data: [...(tensor.data as string[])] };
  const view = tensor.data as ArrayBufferView;
  return { dtype: tensor.dtype, dims: [...tensor.dims], data: encodeBase64(new Uint8Array(view.buffer, view.byteOffset, view.byteLength)) };
}

function parseTensor(value: unknown, path: string): Tensor {
  if (typeof value !== 'object' || value === null) invalid(path, 'expected { dtype, dims, data }');
  const { dtype, dims, data } = value as Partial<SerializedTensor>;
  if (typeof dtype !== 'string' || !TENSOR_DTYPES.includes(dtype)) invalid(`${path}.dtype`, `expected one of ${TENSOR_DTYPES.join(', ')}, got ${JSON.stringify(dtype)}`);
  if (!Array.isArray(dims) || !dims.every((dim) => Number.isInteger(dim) && dim >= 0)) invalid(`${path}.dims`, 'expected an array of non-negative integers');
  const count = elementCount(dims);
  if (dtype === 'string') {
    if (!Array.isArray(data) || !data.every((entry) => typeof entry === 'string')) invalid(`${path}.data`, 'a string tensor needs an array of strings');
    if (data.length !== count) invalid(`${path}.data`, `dims [${dims.join(', ')}] need ${count} strings, got ${data.length}`);
    return createTensor('string', [...data], dims);
  }
  if (typeof data !== 'string') invalid(`${path}.data`, 'expected base64 text');
  let bytes: Uint8Array;
  try {
    bytes = decodeBase64(data);
  } catch {
    invalid(`${path}.data`, 'is not valid base64');
  }
  const width = BYTES_PER_ELEMENT[dtype];
  if (bytes.byteLength !== count * width) invalid(`${path}.data`, `dims [${dims.join(', ')}] need ${count * width} bytes of ${dtype}, got ${bytes.byteLength}`);
  // A fresh buffer, so the view is aligned whatever offset atob's copy had.
  const aligned = new Uint8Array(bytes.byteLength);
  aligned.set(bytes);
  const View = VIEW_BY_DTYPE[dtype] as unknown as new (buffer: ArrayBuffer) => Tensor['data'];
  return createTensor(dtype, new View(aligned.buffer) as never, dims);
}

function parseTensors(value: unknown, path: string): NamedTensors {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) invalid(path, 'expected an object of named tensors');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) invalid(path, 'must not be empty');
  return Object.fromEntries(entries.map(([name, tensor]) => [name, parseTensor(tensor, `${path}[${JSON.stringify(name)}]`)]));
}

function parseTolerance(value: unknown, path: string): ProbeTolerance {
  if (typeof value !== 'object' || value === null) invalid(path, 'expected { absolute, relative }');
  const { absolute, relative } = value as Partial<ProbeTolerance>;
  for (const [key, number] of [['absolute', absolute], ['relative', relative]] as const) {
    if (typeof number !== 'number' || !Number.isFinite(number) || number < 0) invalid(`${path}.${key}`, 'expected a non-negative number');
  }
  return { absolute: absolute!, relative: relative! };
}

/** Validates a probe file (its bytes, its text, or parsed JSON) and returns typed tensors. */
export function parseProbe(source: ArrayBuffer | Uint8Array | string | unknown): Probe {
  let json: unknown = source;
  if (source instanceof ArrayBuffer || source instanceof Uint8Array) json = new TextDecoder().decode(source);
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch (cause) {
      throw new EdgeInferError('core/invalid-probe', `The probe file is not JSON: ${(cause as Error).message}.`, { cause });
    }
  }
  if (typeof json !== 'object' || json === null) invalid('probe', 'expected an object');
  const record = json as Record<string, unknown>;
  return {
    inputs: parseTensors(record.inputs, 'probe.inputs'),
    outputs: parseTensors(record.outputs, 'probe.outputs'),
    ...(record.tolerance !== undefined ? { tolerance: parseTolerance(record.tolerance, 'probe.tolerance') } : {}),
  };
}

/** The probe file's text (stable key order: inputs, outputs, tolerance). */
export function serializeProbe(probe: Probe): string {
  const tensors = (named: NamedTensors) => Object.fromEntries(Object.entries(named).map(([name, tensor]) => [name, serializeTensor(tensor)]));
  return `${JSON.stringify({ inputs: tensors(probe.inputs), outputs: tensors(probe.outputs), ...(probe.tolerance ? { tolerance: probe.tolerance } : {}) }, null, 2)}\n`;
}

/** IEEE-754 half bits to a number. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Element i as a number (or string): float16 decoded, 64-bit integers converted. */
export function tensorValueAt(tensor: Tensor, index: number): number | string {
  const value = (tensor.data as ArrayLike<number | bigint | string>)[index]!;
  if (tensor.dtype === 'float16') return float16ToNumber(value as number);
  return typeof value === 'bigint' ? Number(value) : value;
}

function withinTolerance(expected: number | string, actual: number | string, tolerance: ProbeTolerance): boolean {
  if (typeof expected === 'string' || typeof actual === 'string') return expected === actual;
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return expected === actual;
  return Math.abs(actual - expected) <= tolerance.absolute + tolerance.relative * Math.abs(expected);
}

/** bool outputs come back as uint8 from some paths; the values, not the container, must agree. */
const sameKind = (a: TensorDtype, b: TensorDtype) => a === b || (a === 'bool' && b === 'uint8') || (a === 'uint8' && b === 'bool');

/** The first disagreement of one output with its expected value, or undefined when it agrees. */
export function compareTensor(name: string, expected: Tensor, actual: Tensor | undefined, tolerance: ProbeTolerance = DEFAULT_PROBE_TOLERANCE): ProbeMismatch | undefined {
  const mismatch = (index: number, want: string, got: string, message: string): ProbeMismatch => ({ output: name, index, expected: want, actual: got, message });
  if (!actual) return mismatch(-1, 'present', 'missing', `output "${name}" is missing`);
  if (!sameKind(expected.dtype, actual.dtype)) return mismatch(-1, expected.dtype, actual.dtype, `output "${name}" is ${actual.dtype}, expected ${expected.dtype}`);
  const dimsMatch = expected.dims.length === actual.dims.length && expected.dims.every((dim, i) => dim === actual.dims[i]);
  if (!dimsMatch) return mismatch(-1, `[${expected.dims.join(', ')}]`, `[${actual.dims.join(', ')}]`, `output "${name}" has dims [${actual.dims.join(', ')}], expected [${expected.dims.join(', ')}]`);
  for (let i = 0; i < expected.data.length; i++) {
    const want = tensorValueAt(expected, i);
    const got = tensorValueAt(actual, i);
    if (!withinTolerance(want, got, tolerance)) {
      return mismatch(i, String(want), String(got), `output "${name}"[${i}] is ${String(got)}, expected ${String(want)} (tolerance ${tolerance.absolute} + ${tolerance.relative} x |expected|)`);
    }
  }
  return undefined;
}

/** Compares every expected output by name; the first disagreement, or undefined when all agree. */
export function compareOutputs(expected: NamedTensors, actual: NamedTensors, tolerance: ProbeTolerance = DEFAULT_PROBE_TOLERANCE): ProbeMismatch | undefined {
  for (const [name, tensor] of Object.entries(expected)) {
    const mismatch = compareTensor(name, tensor, actual[name], tolerance);
    if (mismatch) return mismatch;
  }
  return undefined;
}
