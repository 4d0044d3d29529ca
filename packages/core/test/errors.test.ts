import { describe, expect, it } from 'vitest';
import { EdgeInferError, fromSerializedError, isEdgeInferError, toSerializedError } from '../src/index.js';

describe('EdgeInferError across postMessage', () => {
  it('keeps code, details and cause through structured clone', () => {
    const cause = new EdgeInferError('loader/network', 'socket hang up', { details: { url: 'http://x/model.onnx' } });
    const error = new EdgeInferError('engine/backend-failed', 'session failed', { details: { backend: 'ort-wasm' }, cause });
    const cloned = structuredClone(toSerializedError(error));
    const rebuilt = fromSerializedError(cloned);
    expect(rebuilt).toBeInstanceOf(EdgeInferError);
    expect(isEdgeInferError(rebuilt, 'engine/backend-failed')).toBe(true);
    expect(rebuilt.message).toBe('session failed');
    expect(rebuilt.details).toEqual({ backend: 'ort-wasm' });
    expect(rebuilt.cause).toBeInstanceOf(EdgeInferError);
    expect((rebuilt.cause as EdgeInferError).code).toBe('loader/network');
    expect((rebuilt.cause as EdgeInferError).details).toEqual({ url: 'http://x/model.onnx' });
  });

  it('turns a plain thrown Error into a typed error that keeps the original as cause', () => {
    const rebuilt = fromSerializedError(structuredClone(toSerializedError(new RangeError('out of memory'))));
    expect(rebuilt.code).toBe('engine/backend-failed');
    expect(rebuilt.message).toBe('out of memory');
    expect((rebuilt.cause as Error).name).toBe('RangeError');
  });

  it('drops details that structured clone could not carry instead of throwing', () => {
    const error = new EdgeInferError('engine/timeout', 'slow', { details: { callback: () => 1, ms: 5 } as Record<string, unknown> });
    expect(() => structuredClone(toSerializedError(error))).not.toThrow();
    expect(fromSerializedError(structuredClone(toSerializedError(error))).details).toEqual({ ms: 5 });
  });
});
