import { isEdgeInferError, type TensorSpec } from '@edgeinfer/core';
import { describe, expect, it } from 'vitest';
import { validateInputs } from '../src/index.js';

const specs: TensorSpec[] = [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }];
const codeOf = (run: () => void) => {
  try {
    run();
  } catch (error) {
    return isEdgeInferError(error) ? error.code : 'untyped';
  }
  return 'none';
};

describe('input validation', () => {
  it('accepts any batch size for a dynamic dim', () => {
    expect(codeOf(() => validateInputs({ input: { dtype: 'float32', dims: [3, 1, 28, 28], data: new Float32Array(3 * 784) } }, specs))).toBe('none');
  });

  it('gives a typed error for each kind of bad input', () => {
    expect(codeOf(() => validateInputs({}, specs))).toBe('engine/input-name');
    expect(codeOf(() => validateInputs({ image: { dtype: 'float32', dims: [1, 1, 28, 28], data: new Float32Array(784) } }, specs))).toBe('engine/input-name');
    expect(codeOf(() => validateInputs({ input: { dtype: 'int32', dims: [1, 1, 28, 28], data: new Int32Array(784) } }, specs))).toBe('engine/input-dtype');
    expect(codeOf(() => validateInputs({ input: { dtype: 'float32', dims: [1, 3, 28, 28], data: new Float32Array(3 * 784) } }, specs))).toBe('engine/input-shape');
    expect(codeOf(() => validateInputs({ input: { dtype: 'float32', dims: [1, 1, 28, 28], data: new Float32Array(10) } }, specs))).toBe('engine/input-shape');
    expect(codeOf(() => validateInputs({ input: [1, 2, 3] as never }, specs))).toBe('engine/input-dtype');
  });
});
