import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startStaticDirServer, type StaticDirServer } from '../../../e2e/support/static-dir-server.js';
import { createLoader } from './loader-test-support.js';

const MODELS = new URL('../../../models/', import.meta.url).pathname;
let server: StaticDirServer;
let root: string;
let database = 0;
const newLoader = () => createLoader({ databaseName: `bare-test-${++database}`, installId: 'device-1' });
const sri = (bytes: Buffer) => `sha256-${createHash('sha256').update(bytes).digest('base64')}`;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'bare-model-'));
  copyFileSync(join(MODELS, 'fashion-mnist/1.0.0/model.onnx'), join(root, 'model.onnx'));
  copyFileSync(join(MODELS, 'fashion-mnist/1.0.0/model.onnx'), join(root, 'model.bin'));
  mkdirSync(join(root, 'tfjs'));
  copyFileSync(join(MODELS, 'fashion-mnist/1.0.0/tfjs/model.json'), join(root, 'tfjs/model.json'));
  copyFileSync(join(MODELS, 'fashion-mnist/1.0.0/tfjs/weights.bin'), join(root, 'tfjs/weights.bin'));
  copyFileSync(join(MODELS, 'manifest.json'), join(root, 'manifest.json'));
  server = await startStaticDirServer(root);
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

async function loadBare(loader: ReturnType<typeof createLoader>, path: string, options: { integrity?: string; modelId?: string } = {}) {
  const resolved = await loader.resolve({ manifestUrl: `${server.url}/${path}`, modelId: options.modelId ?? '', ...(options.integrity ? { integrity: options.integrity } : {}) });
  const variant = Object.keys(resolved.versionEntry.variants)[0]!;
  return { resolved, loaded: await loader.fetchVariant(resolved, { variant }) };
}

describe('bare model files (no manifest)', () => {
  it('loads an .onnx URL with its inputs and outputs read from the graph, then revalidates with a 304', async () => {
    const loader = newLoader();
    const first = await loadBare(loader, 'model.onnx');
    expect(first.resolved.modelId).toBe('model');
    expect(first.resolved.versionEntry.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }]);
    expect(first.resolved.versionEntry.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }]);
    expect(first.resolved.versionEntry.preprocessing).toMatchObject({ width: 28, height: 28, channels: 1, layout: 'NCHW' });
    expect(first.loaded.fromCache).toBe(false);
    expect(new Uint8Array(first.loaded.files[first.loaded.entry]!)).toEqual(new Uint8Array(readFileSync(join(root, 'model.onnx'))));

    server.requests.length = 0;
    const second = await loadBare(loader, 'model.onnx');
    expect(second.loaded.fromCache).toBe(true);
    expect(second.resolved.version).toBe(first.resolved.version);
    expect(server.requests.map((request) => request.status)).toEqual([304]);
    expect((await loader.listCached()).map((record) => record.key)).toEqual([`model@${first.resolved.version}/onnx`]);
  });

  it('picks up a file changed on the server as a new version and drops the old bytes', async () => {
    const loader = newLoader();
    const path = join(root, 'changing.onnx');
    copyFileSync(join(MODELS, 'fashion-mnist/1.0.0/model.onnx'), path);
    const before = await loadBare(loader, 'changing.onnx');
    copyFileSync(join(MODELS, 'fashion-mnist/1.1.0/model.onnx'), path);
    const after = await loadBare(loader, 'changing.onnx');
    expect(after.loaded.fromCache).toBe(false);
    expect(after.resolved.version).not.toBe(before.resolved.version);
    expect(new Uint8Array(after.loaded.files[after.loaded.entry]!)).toEqual(new Uint8Array(readFileSync(path)));
    expect((await loader.listCached()).map((record) => record.version)).toEqual([after.resolved.version]);
  });

  it('verifies integrity (SRI form): a mismatch is loader/integrity and nothing is cached', async () => {
    const loader = newLoader();
    const bytes = readFileSync(join(root, 'model.onnx'));
    await expect(loadBare(loader, 'model.onnx', { integrity: sri(Buffer.from('something else')) })).rejects.toMatchObject({ code: 'loader/integrity' });
    expect(await loader.listCached()).toEqual([]);
    const ok = await loadBare(loader, 'model.onnx', { integrity: sri(bytes) });
    expect(ok.loaded.fromCache).toBe(false);
  });

  it('loads a TF.js model.json with the weight files it names, and a model file under another name by its content', async () => {
    const loader = newLoader();
    const tfjs = await loadBare(loader, 'tfjs/model.json');
    expect(tfjs.resolved.versionEntry.variants.tfjs).toMatchObject({ format: 'tfjs-layers', dtype: 'float32' });
    expect(Object.keys(tfjs.loaded.files).sort()).toEqual(['model.json', 'weights.bin']);
    expect(tfjs.resolved.versionEntry.preprocessing).toMatchObject({ layout: 'NHWC', channels: 1 });
    server.requests.length = 0;
    const again = await loadBare(loader, 'tfjs/model.json');
    expect(again.loaded.fromCache).toBe(true);
    expect(server.requests.map((request) => request.status)).toEqual([304, 304]);

    const renamed = await loadBare(loader, 'model.bin', { modelId: 'my-model' });
    expect(renamed.resolved.modelId).toBe('my-model');
    expect(renamed.resolved.versionEntry.variants.onnx?.format).toBe('onnx');
  });

  it('says what a URL looked like: a manifest without a model id, a file that is neither, a missing file', async () => {
    const loader = newLoader();
    await expect(loader.resolve({ manifestUrl: `${server.url}/manifest.json`, modelId: '' })).rejects.toMatchObject({
      code: 'loader/model-not-found',
      message: expect.stringContaining(`${server.url}/manifest.json is a manifest with the models "fashion-mnist"`),
    });
    writeFileSync(join(root, 'notes.txt'), 'hello, not a model');
    await expect(loader.resolve({ manifestUrl: `${server.url}/notes.txt`, modelId: '' })).rejects.toMatchObject({
      code: 'core/invalid-manifest',
      message: expect.stringContaining('not a model file either'),
    });
    await expect(loader.resolve({ manifestUrl: `${server.url}/missing.onnx`, modelId: '' })).rejects.toMatchObject({
      code: 'loader/http-status',
      message: expect.stringContaining('The model file'),
    });
  });
});
