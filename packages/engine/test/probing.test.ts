// What the engine probes, and when: a probe that holds the thread (a WebGL context, a first WebGPU
// adapter request) costs ~200 ms of the worker's time in a fresh browser, so it must run only for a
// load that could use that backend, and the library a load names must start before its manifest.
import type { Backend, ManifestVariant, ModelFormat } from '@edgeinfer/core';
import type { Loader, ResolvedModel } from '@edgeinfer/loader';
import { describe, expect, it } from 'vitest';
import { createEngineCore } from '../src/index.js';

interface Recorded {
  readonly events: string[];
}

function fakeBackend(record: Recorded, library: 'ort' | 'tfjs', name: Backend['name'], formats: readonly ModelFormat[], options: { priority?: number; blocks?: boolean } = {}): Backend {
  const id = `${library}-${name}`;
  return {
    library,
    name,
    priority: options.priority ?? 50,
    ...(options.blocks ? { probeBlocksThread: true } : {}),
    probe: async () => {
      record.events.push(`probe ${id}`);
      return { available: true };
    },
    supports: (format) => formats.includes(format),
    warm: async () => void record.events.push(`warm ${id}`),
    load: async () => {
      record.events.push(`load ${id}`);
      return { inputNames: ['x'], outputNames: ['y'], run: async () => ({ y: { dtype: 'float32', dims: [1], data: new Float32Array([1]) } }), dispose: async () => undefined };
    },
  };
}

/** A loader that answers from memory, and records when the manifest was resolved (after `gate`, if given). */
function fakeLoader(record: Recorded, format: ModelFormat, gate?: Promise<void>): Loader {
  const variant: ManifestVariant = { format, dtype: 'float32', files: [{ path: 'model.bin', size: 4, sha256: '0'.repeat(64) }] };
  const versionEntry = { inputs: [{ name: 'x', dtype: 'float32', shape: [1] }], outputs: [{ name: 'y', dtype: 'float32', shape: [1] }], variants: { fp32: variant } };
  const resolved = { manifestUrl: 'https://example.test/manifest.json', manifestSource: 'network', modelId: 'm', model: { versions: { '1.0.0': versionEntry } }, version: '1.0.0', versionEntry, choice: { version: '1.0.0', channel: 'stable', reason: 'only version' } } as unknown as ResolvedModel;
  return {
    resolve: async () => {
      await gate;
      record.events.push('manifest');
      return resolved;
    },
    fetchVariant: async () => ({ variant: 'fp32', variantEntry: variant, files: { 'model.bin': new ArrayBuffer(4) }, entry: 'model.bin', fromCache: false, sizeBytes: 4, timings: { downloadMs: 0, verifyMs: 0, cacheMs: 0 }, persisted: Promise.resolve() }),
    listCached: async () => [],
    deleteCached: async () => undefined,
    clearCache: async () => undefined,
  } as unknown as Loader;
}

function engineWith(format: ModelFormat, probeAhead = false, gate?: Promise<void>) {
  const record: Recorded = { events: [] };
  const backends = [
    fakeBackend(record, 'ort', 'webgpu', ['onnx'], { priority: 100, blocks: true }),
    fakeBackend(record, 'ort', 'wasm', ['onnx'], { priority: 80 }),
    fakeBackend(record, 'tfjs', 'webgl', ['tfjs-layers'], { priority: 60, blocks: true }),
    fakeBackend(record, 'tfjs', 'wasm', ['tfjs-layers'], { priority: 40 }),
  ];
  const core = createEngineCore({ backends, loader: fakeLoader(record, format, gate), probeAhead });
  return { core, record };
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('device probes', () => {
  it('probing ahead runs only the probes that do not hold the thread', async () => {
    const { record } = engineWith('onnx', true);
    await flush();
    expect(record.events.sort()).toEqual(['probe ort-wasm', 'probe tfjs-wasm']);
  });

  it('an ONNX load probes the ONNX backends only, each once for the engine', async () => {
    const { core, record } = engineWith('onnx');
    const info = await core.load({ manifestUrl: 'https://example.test/manifest.json', modelId: 'm' });
    expect(info.backend).toBe('ort-webgpu');
    await core.load({ manifestUrl: 'https://example.test/manifest.json', modelId: 'm' });
    expect(record.events.filter((event) => event.startsWith('probe')).sort()).toEqual(['probe ort-wasm', 'probe ort-webgpu']);
    // The TF.js backends are still reported, for the right reason.
    expect(info.rejected).toEqual([
      { backend: 'tfjs-webgl', reason: 'no variant it can run (variants: fp32)' },
      { backend: 'tfjs-wasm', reason: 'no variant it can run (variants: fp32)' },
    ]);
  });

  it('a load that names its backends probes none other, and warms the first before its manifest', async () => {
    let releaseManifest = () => undefined as void;
    const { core, record } = engineWith('onnx', false, new Promise<void>((resolve) => (releaseManifest = resolve)));
    const loading = core.load({ manifestUrl: 'https://example.test/manifest.json', modelId: 'm', backends: ['ort-wasm'] });
    await flush();
    // The manifest has not arrived, and the library is already warming.
    expect(record.events).toEqual(['probe ort-wasm', 'warm ort-wasm']);
    releaseManifest();
    const info = await loading;
    expect(info.backend).toBe('ort-wasm');
    expect(record.events.filter((event) => event.startsWith('probe'))).toEqual(['probe ort-wasm']);
  });

  it('a TF.js load probes WebGL (blocking) only then, and never the WebGPU build of onnxruntime-web', async () => {
    const { core, record } = engineWith('tfjs-layers', true);
    const info = await core.load({ manifestUrl: 'https://example.test/manifest.json', modelId: 'm' });
    expect(info.backend).toBe('tfjs-webgl');
    expect(record.events).not.toContain('probe ort-webgpu');
    expect(record.events.indexOf('probe tfjs-webgl')).toBeGreaterThan(record.events.indexOf('manifest'));
  });

  it('engine.probe() still answers for every backend', async () => {
    const { core } = engineWith('onnx');
    expect(Object.keys(await core.probe()).sort()).toEqual(['ort-wasm', 'ort-webgpu', 'tfjs-wasm', 'tfjs-webgl']);
  });
});
