import { describe, expect, it } from 'vitest';
import { createTensor, isEdgeInferError, softmax, topK } from '../src/index.js';

describe('tensors', () => {
  it('builds a tensor whose data matches its dims', () => {
    const tensor = createTensor('float32', new Float32Array(6), [2, 3]);
    expect(tensor.dims).toEqual([2, 3]);
  });

  it('rejects data of the wrong length or array type with core/invalid-tensor', () => {
    expect(() => createTensor('float32', new Float32Array(5), [2, 3])).toThrowError(/need 6 elements/);
    try {
      createTensor('int8', new Float32Array(4) as unknown as Int8Array, [4]);
      expect.unreachable();
    } catch (error) {
      expect(isEdgeInferError(error, 'core/invalid-tensor')).toBe(true);
    }
  });

  it('softmax sums to one and top-k orders by score', () => {
    const probabilities = softmax([1, 3, 2]);
    expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(topK(probabilities, 2).map((entry) => entry.index)).toEqual([1, 2]);
  });
});
