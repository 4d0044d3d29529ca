import { describe, expect, it } from 'vitest';
import { compareOutputs, createTensor, isEdgeInferError, isTensor, parseManifest, parseProbe, serializeProbe, type NamedTensors } from '../src/index.js';

const every: NamedTensors = {
  f32: createTensor('float32', new Float32Array([1.5, NaN, -Infinity]), [3]),
  f64: createTensor('float64', new Float64Array([Math.PI]), [1]),
  f16: createTensor('float16', new Uint16Array([0x3c00, 0xc000]), [2]),
  i8: createTensor('int8', new Int8Array([-128, 127]), [2]),
  i16: createTensor('int16', new Int16Array([-32768]), [1]),
  i32: createTensor('int32', new Int32Array([-7]), [1]),
  i64: createTensor('int64', new BigInt64Array([-(2n ** 62n)]), [1]),
  u8: createTensor('uint8', new Uint8Array([255]), [1]),
  u16: createTensor('uint16', new Uint16Array([65535]), [1]),
  u32: createTensor('uint32', new Uint32Array([4294967295]), [1]),
  u64: createTensor('uint64', new BigUint64Array([2n ** 63n]), [1]),
  b: createTensor('bool', new Uint8Array([1, 0]), [2]),
  s: createTensor('string', ['a', 'ünï'], [2, 1]),
};

describe('reference probes', () => {
  it('round-trips every dtype through the probe file format', () => {
    const parsed = parseProbe(serializeProbe({ inputs: every, outputs: every, tolerance: { absolute: 0, relative: 0 } }));
    for (const [name, tensor] of Object.entries(every)) {
      expect(isTensor(parsed.inputs[name])).toBe(true);
      expect(parsed.inputs[name]!.dtype).toBe(tensor.dtype);
      expect(parsed.inputs[name]!.dims).toEqual(tensor.dims);
      expect(Array.from(parsed.outputs[name]!.data as ArrayLike<unknown>)).toEqual(Array.from(tensor.data as ArrayLike<unknown>));
    }
    expect(compareOutputs(every, parsed.outputs, { absolute: 0, relative: 0 })).toBeUndefined();
  });

  it('accepts values within absolute + relative x |expected| and NaN where NaN is expected', () => {
    const expected = { y: createTensor('float32', new Float32Array([100, NaN, 0]), [3]) };
    expect(compareOutputs(expected, { y: createTensor('float32', new Float32Array([100.9, NaN, 0.0009]), [3]) }, { absolute: 1e-3, relative: 1e-2 })).toBeUndefined();
  });

  it('names the output and element that disagree', () => {
    const expected = { a: createTensor('float32', new Float32Array([1, 2]), [2]), b: createTensor('float32', new Float32Array([1, 2]), [2]) };
    const mismatch = compareOutputs(expected, { a: expected.a, b: createTensor('float32', new Float32Array([1, 0]), [2]) });
    expect(mismatch).toMatchObject({ output: 'b', index: 1, expected: '2', actual: '0' });
    expect(compareOutputs(expected, { a: expected.a, b: createTensor('float32', new Float32Array([1, NaN]), [2]) })?.output).toBe('b');
    expect(compareOutputs(expected, { a: expected.a })?.message).toMatch(/"b" is missing/);
    expect(compareOutputs(expected, { a: expected.a, b: createTensor('float32', new Float32Array([1, 2]), [1, 2]) })?.message).toMatch(/dims/);
  });

  it('refuses a probe whose data does not fit its dims with core/invalid-probe', () => {
    const text = JSON.stringify({ inputs: { x: { dtype: 'float32', dims: [2], data: btoa('abcd') } }, outputs: { y: { dtype: 'float32', dims: [1], data: btoa('abcd') } } });
    try {
      parseProbe(text);
      expect.unreachable();
    } catch (error) {
      expect(isEdgeInferError(error, 'core/invalid-probe')).toBe(true);
      expect((error as Error).message).toMatch(/probe\.inputs\["x"\]\.data/);
    }
  });
});

describe('manifest probe and dtypes', () => {
  const manifest = (variant: object, dtype = 'float32') => ({
    schemaVersion: 1,
    models: {
      m: {
        task: 'test',
        channels: { stable: '1' },
        versions: { '1': { inputs: [{ name: 'x', dtype, shape: [1] }], outputs: [{ name: 'y', dtype, shape: [1] }], variants: { fp32: { format: 'onnx', dtype: 'float32', files: [{ path: 'm.onnx', size: 1, sha256: 'a'.repeat(64) }], ...variant } } } },
      },
    },
  });

  it('accepts every tensor dtype onnxruntime-web carries in tensor specs', () => {
    for (const dtype of ['float64', 'int16', 'uint16', 'uint32', 'uint64', 'string']) expect(() => parseManifest(manifest({}, dtype))).not.toThrow();
    expect(() => parseManifest(manifest({}, 'complex64'))).toThrow(/dtype/);
  });

  it('accepts a variant probe and checks its fields', () => {
    expect(() => parseManifest(manifest({ probe: { path: 'probe.json', size: 10, sha256: 'b'.repeat(64), tolerance: { absolute: 1e-4, relative: 1e-3 } } }))).not.toThrow();
    expect(() => parseManifest(manifest({ probe: { path: 'probe.json', size: 10, sha256: 'short' } }))).toThrow(/probe\.sha256/);
    expect(() => parseManifest(manifest({ probe: { path: 'm.onnx', size: 1, sha256: 'a'.repeat(64) } }))).toThrow(/probe\.path/);
  });
});
