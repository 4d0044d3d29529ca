import type { AdapterFacts, Backend, Capability, ManifestVariant } from '@edgeinfer/core';
import { describe, expect, it } from 'vitest';
import { rankCandidates } from '../src/index.js';

const file = { path: 'm.onnx', size: 1, sha256: '0'.repeat(64) };
const variants: Record<string, ManifestVariant> = {
  fp32: { format: 'onnx', dtype: 'float32', files: [file] },
  int8: { format: 'onnx', dtype: 'int8', files: [file] },
  fp16: { format: 'onnx', dtype: 'float16', files: [file] },
  tfjs: { format: 'tfjs-layers', dtype: 'float32', files: [file] },
};

function backend(library: 'ort' | 'tfjs', name: Backend['name'], priority: number): Backend {
  return {
    library,
    name,
    priority,
    probe: async () => ({ available: true }),
    supports: (format, dtype) => (library === 'ort' ? format === 'onnx' && (name !== 'webgpu' || dtype !== 'int8') : format !== 'onnx'),
    load: async () => {
      throw new Error('not used');
    },
  };
}

const ortWebGpu = backend('ort', 'webgpu', 100);
const ortWasm = backend('ort', 'wasm', 80);
const tfjsWebGl = backend('tfjs', 'webgl', 60);
const tfjsCpu = backend('tfjs', 'cpu', -1);
const all = [ortWebGpu, ortWasm, tfjsWebGl, tfjsCpu];

const adapter = (isSoftware: boolean, features: string[] = []): AdapterFacts => ({
  vendor: isSoftware ? 'google' : 'nvidia',
  architecture: isSoftware ? 'swiftshader' : 'ampere',
  device: '',
  description: isSoftware ? 'SwiftShader Device' : 'NVIDIA RTX',
  isSoftware,
  features,
});

function rank(gpu: Capability, options: { allow?: string[]; variantPreference?: string[] } = {}) {
  const capabilities = new Map<Backend, Capability>([
    [ortWebGpu, gpu],
    [ortWasm, { available: true }],
    [tfjsWebGl, { available: true, adapter: adapter(gpu.adapter?.isSoftware ?? false) }],
    [tfjsCpu, { available: true }],
  ]);
  return rankCandidates({ backends: all, capabilities, variants, ...options });
}

const order = (result: ReturnType<typeof rank>) => result.candidates.map((candidate) => `${candidate.backend.library}-${candidate.backend.name}/${candidate.variant}`);

describe('backend selection', () => {
  it('puts WASM before a software (SwiftShader) WebGPU adapter, and says why', () => {
    const result = rank({ available: true, adapter: adapter(true) });
    expect(order(result)[0]).toBe('ort-wasm/fp32');
    const webgpu = result.candidates.find((candidate) => candidate.backend === ortWebGpu)!;
    expect(webgpu.reason).toMatch(/software adapter/);
  });

  it('puts WebGPU first on a hardware adapter', () => {
    expect(order(rank({ available: true, adapter: adapter(false) }))[0]).toBe('ort-webgpu/fp32');
  });

  it('never offers int8 to onnxruntime WebGPU, nor fp16 without shader-f16', () => {
    const candidates = order(rank({ available: true, adapter: adapter(false) }));
    expect(candidates).not.toContain('ort-webgpu/int8');
    expect(candidates).not.toContain('ort-webgpu/fp16');
    expect(order(rank({ available: true, adapter: adapter(false, ['shader-f16']) }))).toContain('ort-webgpu/fp16');
  });

  it('records why an unavailable backend was rejected', () => {
    const result = rank({ available: false, reason: 'navigator.gpu is missing' });
    expect(result.rejected).toEqual([{ backend: 'ort-webgpu', reason: 'navigator.gpu is missing' }]);
  });

  it('follows the app: requested backends in its order, negative-priority ones only when named', () => {
    expect(order(rank({ available: true, adapter: adapter(true) }, { allow: ['webgl', 'cpu'] }))).toEqual(['tfjs-webgl/tfjs', 'tfjs-cpu/tfjs']);
    expect(order(rank({ available: true, adapter: adapter(true) }))).not.toContain('tfjs-cpu/tfjs');
  });

  it('prefers full precision by default and the app variant order when given', () => {
    const wasm = (result: ReturnType<typeof rank>) => order(result).filter((entry) => entry.startsWith('ort-wasm'));
    expect(wasm(rank({ available: true, adapter: adapter(true) }))[0]).toBe('ort-wasm/fp32');
    expect(wasm(rank({ available: true, adapter: adapter(true) }, { variantPreference: ['int8', 'fp32'] }))[0]).toBe('ort-wasm/int8');
  });
});
