import 'fake-indexeddb/auto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startModelServer, type ModelServer } from '../../../e2e/support/model-server.js';
import { createLoader, isEdgeInferErrorCode, type LoadProgress } from './loader-test-support.js';

let server: ModelServer;
let database = 0;
const newLoader = () => createLoader({ databaseName: `loader-test-${++database}`, installId: 'device-1' });

beforeAll(async () => {
  server = await startModelServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
});

const fileRequests = () => server.requests.filter((request) => !request.path.endsWith('manifest.json'));

describe('loader against a real HTTP server', () => {
  it('downloads, verifies and caches; the second load requests no file and is served from the cache', async () => {
    const loader = newLoader();
    const resolved = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    const progress: LoadProgress[] = [];
    const first = await loader.fetchVariant(resolved, { variant: 'fp32', onProgress: (event) => progress.push(event) });
    expect(first.fromCache).toBe(false);
    expect(progress.map((event) => event.phase)).toEqual(expect.arrayContaining(['download', 'verify', 'cache', 'ready']));
    expect(progress.at(-1)).toMatchObject({ phase: 'ready', loadedBytes: first.sizeBytes, totalBytes: first.sizeBytes });
    expect(fileRequests()).toHaveLength(1);

    server.requests.length = 0;
    const second = await loader.fetchVariant(resolved, { variant: 'fp32' });
    expect(second.fromCache).toBe(true);
    expect(fileRequests()).toHaveLength(0);
    expect(new Uint8Array(second.files[second.entry]!)).toEqual(new Uint8Array(first.files[first.entry]!));
    expect((await loader.listCached()).map((record) => record.key)).toEqual(['fashion-mnist@1.0.0/fp32']);
  });

  it('resolveBeforeCached answers with the verified bytes first; persisted says when they are cached, and a load meanwhile downloads nothing again', async () => {
    const loader = newLoader();
    const resolved = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    server.requests.length = 0;
    const early = await loader.fetchVariant(resolved, { variant: 'fp32', resolveBeforeCached: true });
    expect(early.fromCache).toBe(false);
    expect(early.files[early.entry]!.byteLength).toBe(early.sizeBytes);
    // A second load while the first is still being written shares it: one download in all.
    const meanwhile = loader.fetchVariant(resolved, { variant: 'fp32' });
    await early.persisted;
    expect((await loader.listCached()).map((record) => record.key)).toEqual(['fashion-mnist@1.0.0/fp32']);
    expect(new Uint8Array((await meanwhile).files[early.entry]!)).toEqual(new Uint8Array(early.files[early.entry]!));
    expect(fileRequests()).toHaveLength(1);
    const later = await loader.fetchVariant(resolved, { variant: 'fp32' });
    expect(later.fromCache).toBe(true);
    expect(fileRequests()).toHaveLength(1);
  });

  it('resumes a download that broke half way with a Range request', async () => {
    const loader = newLoader();
    const resolved = await loader.resolve({ manifestUrl: `${server.url}/truncate-once/manifest.json`, modelId: 'fashion-mnist' });
    const loaded = await loader.fetchVariant(resolved, { variant: 'fp32' });
    expect(loaded.fromCache).toBe(false);
    const ranges = fileRequests().filter((request) => request.range);
    expect(ranges).toHaveLength(1);
    expect(ranges[0]!.range).toMatch(/^bytes=\d+-$/);
  });

  it('refuses an HTML answer and a corrupted file, and caches neither', async () => {
    for (const [mode, code] of [
      ['html', 'loader/not-a-model'],
      ['corrupt', 'loader/integrity'],
      ['status-500', 'loader/http-status'],
    ] as const) {
      const loader = newLoader();
      const manifest = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
      const resolved = { ...manifest, manifestUrl: `${server.url}/${mode}/manifest.json` };
      await expect(loader.fetchVariant(resolved, { variant: 'fp32' })).rejects.toSatisfy((error: unknown) => isEdgeInferErrorCode(error, code));
      expect(await loader.listCached()).toEqual([]);
    }
  });

  it('two concurrent loads of one model download it once', async () => {
    const loader = newLoader();
    const resolved = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    server.requests.length = 0;
    const [a, b] = await Promise.all([loader.fetchVariant(resolved, { variant: 'tfjs' }), loader.fetchVariant(resolved, { variant: 'tfjs' })]);
    expect(a.sizeBytes).toBe(b.sizeBytes);
    expect(fileRequests()).toHaveLength(2); // model.json + weights.bin, once each
  });

  it('serves the last good manifest when the server is down', async () => {
    const loader = newLoader();
    await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    const down = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist', signal: AbortSignal.abort() }).catch((error) => error);
    expect(down).toBeInstanceOf(Error);
    const failingFetch: typeof fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    const offlineLoader = createLoader({ databaseName: `loader-test-${database}`, installId: 'device-1', fetch: failingFetch });
    const resolved = await offlineLoader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    expect(resolved.manifestSource).toBe('cache');
    expect(resolved.version).toBe('1.0.0');
  });

  it('a captive portal answering the manifest with 200 text/html: the last good manifest serves, manifestSource cache', async () => {
    const loader = newLoader();
    await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    server.setCaptivePortal(true);
    try {
      const resolved = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
      expect(resolved.manifestSource).toBe('cache');
      expect(resolved.version).toBe('1.0.0');
      expect(server.requests.at(-1)?.path).toBe('/ok/manifest.json');
      const neverCached = await newLoader().resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' }).catch((error) => error);
      expect(isEdgeInferErrorCode(neverCached, 'core/invalid-manifest')).toBe(true);
      expect((neverCached as Error).message).toMatch(/not JSON.*text\/html/);
    } finally {
      server.setCaptivePortal(false);
    }
  });

  it("an app's deleteDatabase completes while the loader holds the cache open, and the loader then starts afresh", async () => {
    const databaseName = `loader-test-${++database}`;
    const loader = createLoader({ databaseName, installId: 'device-1' });
    const resolved = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    await loader.fetchVariant(resolved, { variant: 'int8' });
    const outcome = await new Promise<string>((resolve) => {
      const request = indexedDB.deleteDatabase(databaseName);
      request.onsuccess = () => resolve('deleted');
      request.onerror = () => resolve('error');
      request.onblocked = () => resolve('blocked');
    });
    expect(outcome).toBe('deleted');
    expect(await loader.listCached()).toEqual([]);
    server.requests.length = 0;
    expect((await loader.fetchVariant(resolved, { variant: 'int8' })).fromCache).toBe(false);
    expect(fileRequests()).toHaveLength(1);
  });

  it('deleting a cached model frees its files', async () => {
    const loader = newLoader();
    const resolved = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    await loader.fetchVariant(resolved, { variant: 'fp32' });
    await loader.deleteCached('fashion-mnist@1.0.0/fp32');
    expect(await loader.listCached()).toEqual([]);
    server.requests.length = 0;
    expect((await loader.fetchVariant(resolved, { variant: 'fp32' })).fromCache).toBe(false);
    expect(fileRequests()).toHaveLength(1);
  });
});

describe('a corrupted cache entry', () => {
  it('is detected by its hash, re-fetched and never served', async () => {
    const { createStore, set } = await import('idb-keyval');
    const loader = newLoader();
    const resolved = await loader.resolve({ manifestUrl: `${server.url}/ok/manifest.json`, modelId: 'fashion-mnist' });
    const first = await loader.fetchVariant(resolved, { variant: 'fp32' });
    const sha256 = resolved.versionEntry.variants.fp32!.files[0]!.sha256;
    const garbage = new Uint8Array(first.sizeBytes).fill(7);
    await set(`chunk:${sha256}:0`, new Blob([garbage]), createStore(`loader-test-${database}`, 'files'));

    server.requests.length = 0;
    const again = await loader.fetchVariant(resolved, { variant: 'fp32' });
    expect(again.fromCache).toBe(false);
    expect(fileRequests()).toHaveLength(1);
    expect(new Uint8Array(again.files[again.entry]!)).toEqual(new Uint8Array(first.files[first.entry]!));
    expect((await loader.fetchVariant(resolved, { variant: 'fp32' })).fromCache).toBe(true);
  });
});
