import { describe, expect, it } from 'vitest';
import { readWorkerConfig, workerName } from '../src/worker-config.js';

describe('worker config in the Worker name', () => {
  it('is the bare prefix with nothing to say', () => {
    expect(workerName({})).toBe('edgeinfer-engine');
    expect(readWorkerConfig('edgeinfer-engine')).toEqual({});
  });

  it('carries assetsBaseUrl and warm both ways', () => {
    const name = workerName({ assetsBaseUrl: 'https://cdn.example/edgeinfer/', warm: ['ort-wasm', 'tfjs-webgl'] });
    expect(readWorkerConfig(name)).toEqual({ assetsBaseUrl: 'https://cdn.example/edgeinfer/', warm: ['ort-wasm', 'tfjs-webgl'] });
    expect(readWorkerConfig(workerName({ warm: ['ort-wasm'] }))).toEqual({ warm: ['ort-wasm'] });
  });

  it('ignores junk: a non-string warm entry, bad JSON, another name', () => {
    expect(readWorkerConfig('edgeinfer-engine {"warm":["ort-wasm",3,null]}')).toEqual({ warm: ['ort-wasm'] });
    expect(readWorkerConfig('edgeinfer-engine {"warm":"ort-wasm"}')).toEqual({});
    expect(readWorkerConfig('edgeinfer-engine {not json')).toEqual({});
    expect(readWorkerConfig('my-worker')).toEqual({});
  });
});
