import {
  EdgeInferError,
  type Manifest,
  type ManifestFile,
  type ManifestModel,
  type ManifestVariant,
  type ManifestVersion,
} from '@edgeinfer/core';
import type { UseStore } from 'idb-keyval';
import {
  DEFAULT_CHUNK_BYTES,
  deleteModelRecord,
  listModelRecords,
  openModelStore,
  readFile,
  readModelRecord,
  readValue,
  writeFile,
  writeModelRecord,
  writeValue,
  deleteFile,
  type CachedModelRecord,
} from './chunked-store.js';
import { isOnnxUrl, readBareFiles, readBareRecord, resolveBareModel, type BareModelOptions, type BareResolution } from './bare-model.js';
import { abortError, downloadFile } from './download.js';
import { decryptFile, type DecryptionKey } from './encryption.js';
import { fetchManifest } from './manifest-source.js';
import { ensureRoom, isQuotaExceeded } from './quota.js';
import { chooseVersion, findModel, type Channel, type VersionChoice } from './rollout.js';
import { sha256Hex } from './sha256.js';

export type LoadPhase = 'manifest' | 'download' | 'verify' | 'cache' | 'ready';

export interface LoadProgress {
  readonly phase: LoadPhase;
  readonly loadedBytes: number;
  readonly totalBytes: number;
  readonly file?: string;
}

export interface LoaderOptions {
  readonly fetch?: typeof fetch;
  /** IndexedDB database that holds the cache; one per app is plenty. */
  readonly databaseName?: string;
  readonly chunkBytes?: number;
  /** Overrides the stored per-profile install id (tests use it to place a device in or out of a canary). */
  readonly installId?: string;
  /** Cap on the model cache in bytes (e.g. a kiosk with a small disk); least recently used models are evicted to stay under it. */
  readonly maxCacheBytes?: number;
}

export interface ResolveRequest extends BareModelOptions {
  /** A manifest, or a bare model: an .onnx file or a TF.js model.json. */
  readonly manifestUrl: string;
  /** Which model of the manifest; for a bare model, the id it is reported under (default: its file name). */
  readonly modelId: string;
  /** Pin a version (testing, rollback drills). */
  readonly version?: string;
  readonly channel?: Channel;
  readonly signal?: AbortSignal;
  /** A bare model is downloaded while it is resolved (its inputs and outputs are in the bytes). */
  readonly onProgress?: (progress: LoadProgress) => void;
}

export interface ResolvedModel {
  readonly manifestUrl: string;
  readonly manifestSource: 'network' | 'cache';
  readonly modelId: string;
  readonly model: ManifestModel;
  readonly version: string;
  readonly versionEntry: ManifestVersion;
  readonly choice: VersionChoice;
  /** Set when the URL is a bare model file rather than a manifest. */
  readonly bare?: BareResolution;
}

export interface FetchVariantRequest {
  readonly variant: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: LoadProgress) => void;
  /** AES-GCM key for encrypted variants: a CryptoKey or the raw 16/32 key bytes. */
  readonly decryptionKey?: DecryptionKey;
  /**
   * Resolve once the bytes are downloaded and verified, before they are in IndexedDB; `persisted` says
   * when they are. The engine creates the session meanwhile (writing a 14 MB model took 180-450 ms
   * here, as long as the session). Default: resolve when cached, as before.
   */
  readonly resolveBeforeCached?: boolean;
}

export interface LoadedFiles {
  readonly variant: string;
  readonly variantEntry: ManifestVariant;
  readonly files: Record<string, ArrayBuffer>;
  readonly entry: string;
  readonly fromCache: boolean;
  readonly sizeBytes: number;
  /** cacheMs is final once `persisted` has settled. */
  readonly timings: { readonly downloadMs: number; readonly verifyMs: number; readonly cacheMs: number };
  /**
   * Settles when the files and their record are in IndexedDB (at once for a cached variant); rejects
   * with loader/quota when the browser refused to store them. Already settled unless resolveBeforeCached.
   */
  readonly persisted: Promise<void>;
}

export interface Loader {
  resolve(request: ResolveRequest): Promise<ResolvedModel>;
  fetchVariant(resolved: ResolvedModel, request: FetchVariantRequest): Promise<LoadedFiles>;
  listCached(): Promise<CachedModelRecord[]>;
  deleteCached(key: string): Promise<void>;
  clearCache(): Promise<void>;
  installId(): Promise<string>;
}

export const cacheKeyOf = (modelId: string, version: string, variant: string) => `${modelId}@${version}/${variant}`;

export function createLoader(options: LoaderOptions = {}): Loader {
  const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  let store: UseStore | undefined;
  const getStore = () => (store ??= openModelStore(options.databaseName));
  const inFlight = new Map<string, Promise<LoadedFiles>>();

  async function installId(): Promise<string> {
    if (options.installId) return options.installId;
    const existing = await readValue<string>(getStore(), 'install-id');
    if (existing) return existing;
    const created = crypto.randomUUID();
    await writeValue(getStore(), 'install-id', created);
    return created;
  }

  const bareContext = (request: ResolveRequest) => ({
    store: getStore(),
    fetch: fetchImpl,
    chunkBytes,
    maxCacheBytes: options.maxCacheBytes,
    signal: request.signal,
    onProgress: request.onProgress && ((loadedBytes: number, totalBytes: number, file: string) => request.onProgress!({ phase: 'download', loadedBytes, totalBytes, file })),
  });

  function bareResolved(request: ResolveRequest, bare: BareResolution): ResolvedModel {
    const { record } = bare;
    return {
      manifestUrl: request.manifestUrl,
      manifestSource: bare.source,
      modelId: record.modelId,
      model: bare.model,
      version: record.version,
      versionEntry: bare.versionEntry,
      choice: { version: record.version, channel: 'stable', reason: `bare ${record.format} model file (no manifest)${bare.source === 'cache' ? ', served from the cache' : ''}` },
      bare,
    };
  }

  async function resolve(request: ResolveRequest): Promise<ResolvedModel> {
    const url = request.manifestUrl;
    // Seen before as a bare model, or named .onnx: no manifest to look for.
    if (isOnnxUrl(url) || (await readBareRecord(getStore(), url))) {
      return bareResolved(request, (await resolveBareModel(url, request.modelId, request, bareContext(request)))!);
    }
    let fetched: Awaited<ReturnType<typeof fetchManifest>>;
    try {
      fetched = await fetchManifest(url, getStore(), fetchImpl, request.signal);
    } catch (error) {
      if (!(error instanceof EdgeInferError) || error.code !== 'core/invalid-manifest') throw error;
      // Not a manifest: a TF.js model.json, or a model file under another name, loads as a bare model.
      // An HTML page or an unreachable server is no model either: the manifest error is the one to report.
      const bare = await resolveBareModel(url, request.modelId, request, bareContext(request), { sniff: true }).catch((sniffError: unknown) => {
        if (sniffError instanceof EdgeInferError && ['loader/not-a-model', 'loader/http-status', 'loader/network'].includes(sniffError.code)) return undefined;
        throw sniffError;
      });
      if (bare) return bareResolved(request, bare);
      throw new EdgeInferError(
        'core/invalid-manifest',
        `${error.message} The URL is not a model file either (an .onnx file or a TF.js model.json, which load with no manifest).`,
        { details: { ...error.details, looksLike: 'manifest' }, cause: error },
      );
    }
    const { manifest, source } = fetched;
    if (!request.modelId) {
      const known = Object.keys(manifest.models);
      throw new EdgeInferError(
        'loader/model-not-found',
        `${url} is a manifest with ${known.length === 1 ? 'the model' : 'the models'} ${known.map((id) => `"${id}"`).join(', ')}: say which to load, e.g. "${url}#${known[0] ?? '<model-id>'}" or { modelId }. (A model file, .onnx or TF.js model.json, loads with no manifest and no #model-id.)`,
        { details: { url, known, looksLike: 'manifest' } },
      );
    }
    const choice = chooseVersion(manifest, request.modelId, {
      installId: await installId(),
      ...(request.version ? { version: request.version } : {}),
      ...(request.channel ? { channel: request.channel } : {}),
    });
    const model = findModel(manifest, request.modelId);
    return {
      manifestUrl: request.manifestUrl,
      manifestSource: source,
      modelId: request.modelId,
      model,
      version: choice.version,
      versionEntry: model.versions[choice.version] as ManifestVersion,
      choice,
    };
  }

  function fetchVariant(resolved: ResolvedModel, request: FetchVariantRequest): Promise<LoadedFiles> {
    if (resolved.bare) return fetchBare(resolved.bare, request);
    const variantEntry = resolved.versionEntry.variants[request.variant];
    if (!variantEntry) {
      return Promise.reject(
        new EdgeInferError(
          'loader/model-not-found',
          `Version ${resolved.version} of "${resolved.modelId}" has no variant "${request.variant}". Known: ${Object.keys(resolved.versionEntry.variants).join(', ')}.`,
          { details: { modelId: resolved.modelId, version: resolved.version, variant: request.variant } },
        ),
      );
    }
    const key = cacheKeyOf(resolved.modelId, resolved.version, request.variant);
    // Single flight: concurrent loads of one model in this realm share one download, until it is cached.
    const pending = inFlight.get(key) ?? loadUnderLock(key, () => loadVariant(resolved, key, variantEntry, request));
    inFlight.set(key, pending);
    pending.then(
      (loaded) => loaded.persisted.finally(() => inFlight.delete(key)),
      () => inFlight.delete(key),
    );
    return pending.then(async (loaded) => {
      const files = variantEntry.encryption ? await decryptFiles(loaded.files, variantEntry, request.decryptionKey) : loaded.files;
      if (!request.resolveBeforeCached) await loaded.persisted;
      return { ...loaded, files };
    });
  }

  async function loadVariant(resolved: ResolvedModel, key: string, variant: ManifestVariant, request: FetchVariantRequest): Promise<LoadedFiles> {
    const totalBytes = variant.files.reduce((sum, file) => sum + file.size, 0);
    const report = (phase: LoadPhase, loadedBytes: number, file?: string) =>
      request.onProgress?.({ phase, loadedBytes, totalBytes, ...(file ? { file } : {}) });
    const timings = { downloadMs: 0, verifyMs: 0, cacheMs: 0 };
    const files: Record<string, ArrayBuffer> = {};
    const missing: ManifestFile[] = [];
    const writes: Promise<void>[] = [];

    const cacheStarted = performance.now();
    for (const file of variant.files) {
      const cached = await readVerified(file);
      if (cached) files[file.path] = cached;
      else missing.push(file);
    }
    timings.cacheMs += performance.now() - cacheStarted;
    const fromCache = missing.length === 0;

    if (!fromCache) {
      if (typeof navigator !== 'undefined' && navigator.onLine === false) {
        throw new EdgeInferError('loader/offline', `The device is offline and ${key} is not cached. Connect once so the model can be cached.`, {
          details: { key, missing: missing.map((file) => file.path) },
        });
      }
      await ensureRoom(getStore(), missing.reduce((sum, file) => sum + file.size, 0), key, options.maxCacheBytes);
      let doneBytes = totalBytes - missing.reduce((sum, file) => sum + file.size, 0);
      for (const file of missing) {
        if (request.signal?.aborted) throw abortError(file);
        const url = new URL(file.path, resolved.manifestUrl).href;
        const downloadStarted = performance.now();
        const bytes = await downloadFile(url, file, {
          fetch: fetchImpl,
          signal: request.signal,
          onBytes: (loaded) => report('download', doneBytes + loaded, file.path),
        });
        timings.downloadMs += performance.now() - downloadStarted;
        const verifyStarted = performance.now();
        report('verify', doneBytes + file.size, file.path);
        const actual = await sha256Hex(bytes);
        timings.verifyMs += performance.now() - verifyStarted;
        if (actual !== file.sha256) {
          throw new EdgeInferError('loader/integrity', `${file.path} failed its integrity check (SHA-256 ${actual}, manifest says ${file.sha256}). Nothing was cached; the server may hold a different build than the manifest.`, {
            details: { file: file.path, url, expected: file.sha256, actual },
          });
        }
        report('cache', doneBytes + file.size, file.path);
        // Written while the next file downloads (and, for resolveBeforeCached, while the session is created).
        const write = storeFile(file, bytes);
        // Handled here too: a refusal may come while a later file is still downloading (Promise.all below
        // takes it then), and if a later file fails the load, nothing awaits this write at all.
        write.catch(() => undefined);
        writes.push(write);
        files[file.path] = bytes;
        doneBytes += file.size;
      }
    }

    const persistStarted = performance.now();
    const persisted = Promise.all(writes)
      .then(async () => {
        const now = Date.now();
        const previous = await readModelRecord(getStore(), key);
        await writeModelRecord(getStore(), {
          key,
          modelId: resolved.modelId,
          version: resolved.version,
          variant: request.variant,
          files: variant.files.map((file) => ({ path: file.path, sha256: file.sha256, sizeBytes: file.size })),
          sizeBytes: totalBytes,
          cachedAt: previous?.cachedAt ?? now,
          lastUsedAt: now,
        });
      })
      .finally(() => (timings.cacheMs += performance.now() - persistStarted));
    // Never an unhandled rejection: every caller awaits it, or is handed it (resolveBeforeCached).
    persisted.catch(() => undefined);
    report('ready', totalBytes);
    return { variant: request.variant, variantEntry: variant, files, entry: entryFile(variant), fromCache, sizeBytes: totalBytes, timings, persisted };
  }

  /** One verified file into the chunked store; a refusal for lack of room is loader/quota, and leaves no partial file. */
  async function storeFile(file: ManifestFile, bytes: ArrayBuffer): Promise<void> {
    try {
      await writeFile(getStore(), file.sha256, bytes, chunkBytes);
    } catch (error) {
      await deleteFile(getStore(), file.sha256).catch(() => undefined);
      if (!isQuotaExceeded(error)) throw error;
      throw new EdgeInferError('loader/quota', `The browser refused to store ${file.path} (${file.size} bytes): storage is full. Free space or pick a smaller variant.`, {
        details: { file: file.path, sizeBytes: file.size },
        cause: error,
      });
    }
  }

  async function fetchBare(bare: BareResolution, request: FetchVariantRequest): Promise<LoadedFiles> {
    const variantEntry = bare.versionEntry.variants[bare.variant]!;
    const started = performance.now();
    const { files, fromCache } = await readBareFiles(bare, { ...bareContext({ manifestUrl: bare.record.url, modelId: bare.record.modelId }), ...(request.signal ? { signal: request.signal } : {}) });
    const sizeBytes = bare.record.files.reduce((sum, file) => sum + file.size, 0);
    request.onProgress?.({ phase: 'ready', loadedBytes: sizeBytes, totalBytes: sizeBytes });
    const timings = { ...bare.timings, cacheMs: bare.timings.cacheMs + performance.now() - started };
    return { variant: bare.variant, variantEntry, files, entry: bare.record.files[0]!.path, fromCache, sizeBytes, timings, persisted: Promise.resolve() };
  }

  /** A cached file is served only if its bytes still hash to the manifest's SHA-256. */
  async function readVerified(file: ManifestFile): Promise<ArrayBuffer | undefined> {
    const bytes = await readFile(getStore(), file.sha256);
    if (!bytes) return undefined;
    if (bytes.byteLength === file.size && (await sha256Hex(bytes)) === file.sha256) return bytes;
    await deleteFile(getStore(), file.sha256);
    return undefined;
  }

  return {
    resolve,
    fetchVariant,
    installId,
    listCached: () => listModelRecords(getStore()),
    deleteCached: (key) => deleteModelRecord(getStore(), key),
    async clearCache() {
      for (const record of await listModelRecords(getStore())) await deleteModelRecord(getStore(), record.key);
    },
  };
}

/** The file a backend opens first: the .onnx, or the TF.js model.json that names the weights. */
export function entryFile(variant: ManifestVariant): string {
  const wanted = variant.format === 'onnx' ? '.onnx' : 'model.json';
  return (variant.files.find((file) => file.path.endsWith(wanted)) ?? variant.files[0])!.path;
}

/** Web Locks make tabs (and workers) of one origin download a model once; the loser finds it cached. */
/**
 * Runs `work` holding the model's cross-tab lock until its files are persisted, and answers as soon as
 * `work` has the bytes: another tab that wants the model waits, then finds it in the cache.
 */
function loadUnderLock(key: string, work: () => Promise<LoadedFiles>): Promise<LoadedFiles> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return work();
  return new Promise<LoadedFiles>((resolve, reject) => {
    locks
      .request(`edgeinfer:model:${key}`, async () => {
        const loaded = await work();
        resolve(loaded);
        await loaded.persisted.catch(() => undefined);
      })
      .catch(reject);
  });
}

async function decryptFiles(files: Record<string, ArrayBuffer>, variant: ManifestVariant, key: DecryptionKey | undefined): Promise<Record<string, ArrayBuffer>> {
  const decrypted: Record<string, ArrayBuffer> = {};
  for (const [path, bytes] of Object.entries(files)) decrypted[path] = await decryptFile(bytes, variant.encryption!, key, path);
  return decrypted;
}

export type { Manifest };
