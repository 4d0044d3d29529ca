import {
  EdgeInferError,
  defaultPreprocessing,
  describeTfjsModel,
  isTfjsModelJson,
  looksLikeOnnx,
  readOnnxGraphIo,
  type ManifestModel,
  type ManifestVariant,
  type ManifestVersion,
  type ModelFormat,
  type Preprocessing,
  type TensorSpec,
  type VariantDtype,
} from '@edgeinfer/core';
import type { UseStore } from 'idb-keyval';
import { deleteModelRecord, readFile, readModelRecord, readValue, writeFile, writeModelRecord, writeValue, deleteFile } from './chunked-store.js';
import { ensureRoom, isQuotaExceeded } from './quota.js';
import { sha256Hex } from './sha256.js';

/**
 * A bare model: `engine.load('/m/model.onnx')` or a TF.js `model.json`, with no manifest. Inputs and
 * outputs come from the model itself; the bytes are cached like a manifest model's and revalidated
 * with a conditional request (ETag / Last-Modified) on every online load, so a file changed on the
 * server is picked up and an unchanged one costs a 304. There are no versions, canaries or
 * rollback for a bare model: that is what a manifest is for.
 */

export interface BareModelOptions {
  /** Subresource Integrity of the model file (the .onnx or the model.json): 'sha256-<base64>' (or sha384-/sha512-). */
  readonly integrity?: string;
  /** Class names in output order (a model file does not carry them). */
  readonly labels?: readonly string[];
  /** Image preprocessing; default: from the input shape, pixels in [0, 1]. */
  readonly preprocessing?: Preprocessing;
}

/** The bare-model fields of a load request, for passing on. */
export function bareOptionsOf(request: BareModelOptions): BareModelOptions {
  return {
    ...(request.integrity ? { integrity: request.integrity } : {}),
    ...(request.labels ? { labels: request.labels } : {}),
    ...(request.preprocessing ? { preprocessing: request.preprocessing } : {}),
  };
}

interface BareFileRecord {
  /** Key in the files map: the entry's file name, or the weight path as model.json names it. */
  readonly path: string;
  readonly url: string;
  readonly sha256: string;
  readonly size: number;
  readonly etag?: string;
  readonly lastModified?: string;
}

/** What is remembered per URL (IndexedDB, `meta:bare:<url>`): enough to answer a 304 without the bytes. */
export interface BareModelRecord {
  readonly url: string;
  readonly modelId: string;
  readonly version: string;
  readonly format: ModelFormat;
  readonly dtype: VariantDtype;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly classes?: number;
  readonly files: readonly BareFileRecord[];
}

export interface BareResolution {
  readonly record: BareModelRecord;
  readonly source: 'network' | 'cache';
  readonly model: ManifestModel;
  readonly versionEntry: ManifestVersion;
  readonly variant: string;
  /** Files already in memory (downloaded by this resolve, or read to check integrity); the rest are read from the cache. */
  readonly inMemory: Readonly<Record<string, ArrayBuffer>>;
  /** Some file was downloaded now (not served from the cache). */
  readonly downloaded: boolean;
  readonly timings: { downloadMs: number; verifyMs: number; cacheMs: number };
}

export interface BareContext {
  readonly store: UseStore;
  readonly fetch: typeof fetch;
  readonly chunkBytes: number;
  readonly maxCacheBytes?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((loadedBytes: number, totalBytes: number, file: string) => void) | undefined;
}

const recordKey = (url: string) => `bare:${url}`;
const isOffline = () => typeof navigator !== 'undefined' && navigator.onLine === false;
const BARE_VARIANT: Record<ModelFormat, string> = { onnx: 'onnx', 'tfjs-layers': 'tfjs', 'tfjs-graph': 'tfjs' };
const HOW_TO = 'A bare model is an .onnx file or a TF.js model.json (its weight files beside it); anything with versions, variants or canaries needs a manifest ("manifest.json#<model-id>", made with `npx edgeinfer-models`).';

/** The URL ends in .onnx: it can only be a bare model. */
export function isOnnxUrl(url: string): boolean {
  return new URL(url).pathname.toLowerCase().endsWith('.onnx');
}

export async function readBareRecord(store: UseStore, url: string): Promise<BareModelRecord | undefined> {
  return readValue<BareModelRecord>(store, recordKey(url));
}

/** `modelId` for a bare model: the #fragment if given, else the file name without extension. */
export function bareModelId(url: string, given: string): string {
  if (given) return given;
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? 'model');
  return name.replace(/\.(onnx|json)$/i, '') || 'model';
}

type Fetched = { kind: 'not-modified' } | { kind: 'body'; bytes: ArrayBuffer; etag?: string; lastModified?: string; downloadMs: number };

/**
 * Resolves a bare model URL. Returns undefined when `sniff` is set and the URL turns out not to be
 * a model file at all (the caller then reports it as a bad manifest).
 */
export async function resolveBareModel(url: string, modelId: string, options: BareModelOptions, context: BareContext, { sniff = false } = {}): Promise<BareResolution | undefined> {
  const previous = await readBareRecord(context.store, url);
  const timings = { downloadMs: 0, verifyMs: 0, cacheMs: 0 };
  if (isOffline()) {
    if (!previous) throw offlineError(url);
    return fromCache(previous);
  }

  let entry: Fetched;
  try {
    entry = await fetchConditional(url, previous?.files[0], context);
  } catch (error) {
    // Server down or unreachable: the cached copy serves, like a manifest model's.
    if (previous && isEdgeInferError(error, 'loader/network')) return fromCache(previous);
    throw error;
  }
  if (entry.kind === 'not-modified' && previous) {
    const cached = await readCached(context.store, previous.files[0]!);
    if (cached) {
      await checkIntegrity(url, cached, options.integrity, timings);
      return revalidateWeights(previous, cached);
    }
    // The 304 is for bytes the cache no longer has (evicted): fetch them whole.
    entry = await fetchConditional(url, undefined, context);
  }
  if (entry.kind !== 'body') throw new EdgeInferError('loader/network', `${url} answered 304 to an unconditional request.`, { details: { url } });
  timings.downloadMs += entry.downloadMs;
  const bytes = entry.bytes;
  await checkIntegrity(url, bytes, options.integrity, timings);
  const described = describe(url, bytes, sniff);
  if (!described) return undefined;

  const entryPath = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'model');
  const entryFile: BareFileRecord = { path: entryPath, url, sha256: await sha256Hex(bytes), size: bytes.byteLength, ...validators(entry) };
  const downloaded: Record<string, ArrayBuffer> = { [entryPath]: bytes };
  const files: BareFileRecord[] = [entryFile];
  for (const weightPath of described.weightPaths) {
    const weightUrl = new URL(weightPath, url).href;
    const known = previous?.files.find((file) => file.url === weightUrl);
    const { file, bytes: weightBytes } = await fetchWeight(weightPath, weightUrl, known, context, timings);
    files.push(file);
    if (weightBytes) downloaded[weightPath] = weightBytes;
  }
  const record: BareModelRecord = {
    url,
    modelId: bareModelId(url, modelId),
    version: await versionOf(files),
    format: described.format,
    dtype: described.dtype,
    inputs: described.inputs,
    outputs: described.outputs,
    ...(described.classes ? { classes: described.classes } : {}),
    files,
  };
  await store(record, downloaded);
  return finish(record, 'network', downloaded, true);

  async function fromCache(record: BareModelRecord): Promise<BareResolution> {
    const entryBytes = await readCached(context.store, record.files[0]!);
    if (!entryBytes) throw offlineError(url);
    await checkIntegrity(url, entryBytes, options.integrity, timings);
    return finish(record, 'cache', { [record.files[0]!.path]: entryBytes }, false);
  }

  /** model.json did not change; its weight files still get their own conditional request. */
  async function revalidateWeights(record: BareModelRecord, entryBytes: ArrayBuffer): Promise<BareResolution> {
    const weights = record.files.slice(1);
    const entryInMemory = { [record.files[0]!.path]: entryBytes };
    if (weights.length === 0) return finish(record, 'network', entryInMemory, false);
    const downloaded: Record<string, ArrayBuffer> = {};
    const files: BareFileRecord[] = [record.files[0]!];
    for (const known of weights) {
      const { file, bytes } = await fetchWeight(known.path, known.url, known, context, timings);
      files.push(file);
      if (bytes) downloaded[known.path] = bytes;
    }
    if (files.every((file, index) => file.sha256 === record.files[index]!.sha256)) return finish(record, 'network', entryInMemory, false);
    const updated = { ...record, files, version: await versionOf(files) };
    await store(updated, downloaded);
    return finish(updated, 'network', { ...entryInMemory, ...downloaded }, true);
  }

  async function store(record: BareModelRecord, downloaded: Record<string, ArrayBuffer>) {
    const started = performance.now();
    const key = cacheKey(record);
    const newBytes = Object.values(downloaded).reduce((sum, part) => sum + part.byteLength, 0);
    await ensureRoom(context.store, newBytes, key, context.maxCacheBytes);
    for (const file of record.files) {
      const part = downloaded[file.path];
      if (!part) continue;
      try {
        await writeFile(context.store, file.sha256, part, context.chunkBytes);
      } catch (error) {
        await deleteFile(context.store, file.sha256).catch(() => undefined);
        if (!isQuotaExceeded(error)) throw error;
        throw new EdgeInferError('loader/quota', `The browser refused to store ${file.url} (${file.size} bytes): storage is full. Free space or load a smaller model.`, {
          details: { file: file.url, sizeBytes: file.size },
          cause: error,
        });
      }
    }
    const now = Date.now();
    const before = previous ? await readModelRecord(context.store, cacheKey(previous)) : undefined;
    await writeModelRecord(context.store, {
      key,
      modelId: record.modelId,
      version: record.version,
      variant: BARE_VARIANT[record.format],
      files: record.files.map((file) => ({ path: file.path, sha256: file.sha256, sizeBytes: file.size })),
      sizeBytes: record.files.reduce((sum, file) => sum + file.size, 0),
      cachedAt: before?.cachedAt ?? now,
      lastUsedAt: now,
    });
    await writeValue(context.store, recordKey(record.url), record);
    // A bare model has no rollback: the replaced bytes are dropped (unless another model shares them).
    if (previous && cacheKey(previous) !== key) await deleteModelRecord(context.store, cacheKey(previous));
    timings.cacheMs += performance.now() - started;
  }

  function finish(record: BareModelRecord, source: 'network' | 'cache', inMemory: Record<string, ArrayBuffer>, downloaded: boolean): BareResolution {
    return { record, source, ...manifestEntries(record, options), variant: BARE_VARIANT[record.format], inMemory, downloaded, timings };
  }
}

/** Reads the files a resolution did not download from the cache (verified by SHA-256). */
export async function readBareFiles(resolution: BareResolution, context: BareContext): Promise<{ files: Record<string, ArrayBuffer>; fromCache: boolean }> {
  const files: Record<string, ArrayBuffer> = {};
  for (const file of resolution.record.files) {
    const inMemory = resolution.inMemory[file.path];
    if (inMemory) {
      files[file.path] = inMemory;
      continue;
    }
    const cached = await readCached(context.store, file);
    if (!cached) {
      throw new EdgeInferError('loader/offline', `${file.url} is no longer in the cache (evicted) and was not downloaded. Load the model again while online.`, {
        details: { url: file.url },
      });
    }
    files[file.path] = cached;
  }
  const now = Date.now();
  const record = await readModelRecord(context.store, cacheKey(resolution.record));
  if (record) await writeModelRecord(context.store, { ...record, lastUsedAt: now });
  return { files, fromCache: !resolution.downloaded };
}

export const cacheKey = (record: BareModelRecord) => `${record.modelId}@${record.version}/${BARE_VARIANT[record.format]}`;

function manifestEntries(record: BareModelRecord, options: BareModelOptions): { model: ManifestModel; versionEntry: ManifestVersion } {
  const variant: ManifestVariant = { format: record.format, dtype: record.dtype, files: record.files.map(({ path, size, sha256 }) => ({ path, size, sha256 })) };
  const input = record.inputs[0];
  let preprocessing = options.preprocessing;
  if (!preprocessing && input && input.shape.length === 4) preprocessing = defaultPreprocessing(input, record.format === 'onnx' ? 'NCHW' : 'NHWC');
  const classes = record.classes ?? record.outputs[0]?.shape.at(-1);
  const labels = options.labels?.length ? options.labels : typeof classes === 'number' && classes > 1 && classes <= 10_000 ? Array.from({ length: classes }, (_, index) => `class ${index}`) : undefined;
  return {
    model: { task: 'image-classification', ...(labels ? { labels } : {}), channels: { stable: record.version }, versions: {} },
    versionEntry: { inputs: record.inputs, outputs: record.outputs, ...(preprocessing ? { preprocessing } : {}), variants: { [BARE_VARIANT[record.format]]: variant } },
  };
}

interface Described {
  readonly format: ModelFormat;
  readonly dtype: VariantDtype;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  readonly weightPaths: string[];
  readonly classes?: number;
}

/** ONNX protobuf or a TF.js model.json, by content (the URL's extension only breaks a tie). */
function describe(url: string, bytes: ArrayBuffer, sniff: boolean): Described | undefined {
  const view = new Uint8Array(bytes);
  const firstChar = view.find((byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09);
  if (firstChar === 0x7b /* { */) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(view));
    } catch {
      json = undefined;
    }
    if (isTfjsModelJson(json)) return describeTfjsModel(json, url);
    if (sniff) return undefined;
    const isManifest = typeof json === 'object' && json !== null && 'models' in json;
    throw new EdgeInferError(
      'engine/model-invalid',
      isManifest
        ? `${url} is a manifest, not a model file. Say which of its models to load: "${url}#<model-id>" or { modelId }.`
        : `${url} is JSON but not a TF.js model.json (no modelTopology and weightsManifest). ${HOW_TO}`,
      { details: { url, looksLike: isManifest ? 'manifest' : 'json' } },
    );
  }
  if (!looksLikeOnnx(view) && (sniff || !isOnnxUrl(url))) {
    if (sniff) return undefined;
    throw new EdgeInferError('engine/model-invalid', `${url} is neither an ONNX model nor a TF.js model.json (it starts with ${JSON.stringify(new TextDecoder().decode(view.subarray(0, 24)))}). ${HOW_TO}`, {
      details: { url },
    });
  }
  const io = readOnnxGraphIo(view);
  return { format: 'onnx', dtype: io.dtype, inputs: io.inputs, outputs: io.outputs, weightPaths: [] };
}

async function fetchWeight(path: string, url: string, known: BareFileRecord | undefined, context: BareContext, timings: BareResolution['timings']) {
  const cachedBytes = known ? await readCached(context.store, known) : undefined;
  let fetched = await fetchConditional(url, cachedBytes ? known : undefined, context);
  if (fetched.kind === 'not-modified') {
    if (cachedBytes && known) return { file: known, bytes: undefined };
    fetched = await fetchConditional(url, undefined, context);
  }
  if (fetched.kind !== 'body') throw new EdgeInferError('loader/network', `${url} answered 304 to an unconditional request.`, { details: { url } });
  timings.downloadMs += fetched.downloadMs;
  const file: BareFileRecord = { path, url, sha256: await sha256Hex(fetched.bytes), size: fetched.bytes.byteLength, ...validators(fetched) };
  return { file, bytes: fetched.bytes };
}

const validators = (fetched: { etag?: string; lastModified?: string }) => ({
  ...(fetched.etag ? { etag: fetched.etag } : {}),
  ...(fetched.lastModified ? { lastModified: fetched.lastModified } : {}),
});

async function fetchConditional(url: string, known: BareFileRecord | undefined, context: BareContext): Promise<Fetched> {
  const headers: Record<string, string> = {};
  if (known?.etag) headers['If-None-Match'] = known.etag;
  else if (known?.lastModified) headers['If-Modified-Since'] = known.lastModified;
  const started = performance.now();
  let response: Response;
  try {
    response = await context.fetch(url, { headers, cache: 'no-store', signal: context.signal ?? null });
  } catch (error) {
    if (context.signal?.aborted) throw new EdgeInferError('loader/aborted', 'The model load was aborted.', { cause: error });
    // A cross-origin server that does not allow If-None-Match in its CORS preflight fails the
    // whole request: ask once more without validators before calling the network down.
    if (Object.keys(headers).length > 0) return fetchConditional(url, undefined, context);
    throw new EdgeInferError('loader/network', `Could not fetch the model file ${url}: ${(error as Error)?.message ?? error}. Check the URL and the connection.`, {
      details: { url },
      cause: error,
    });
  }
  if (response.status === 304) return { kind: 'not-modified' };
  if (!response.ok) {
    throw new EdgeInferError('loader/http-status', `The model file ${url} answered HTTP ${response.status}. Check that it is published at that path. ${HOW_TO}`, {
      details: { url, status: response.status, looksLike: 'bare-model' },
    });
  }
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('text/html') || type.includes('application/xhtml+xml')) {
    await response.body?.cancel();
    throw new EdgeInferError('loader/not-a-model', `${url} answered with ${type}, not a model file: the server probably served an error or index page. ${HOW_TO}`, {
      details: { url, contentType: type },
    });
  }
  const bytes = await readBody(response, url, context);
  const etag = response.headers.get('etag') ?? undefined;
  const lastModified = response.headers.get('last-modified') ?? undefined;
  return { kind: 'body', bytes, downloadMs: performance.now() - started, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
}

async function readBody(response: Response, url: string, context: BareContext): Promise<ArrayBuffer> {
  const total = Number(response.headers.get('content-length')) || 0;
  if (!response.body) return response.arrayBuffer();
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      loaded += value.byteLength;
      context.onProgress?.(loaded, Math.max(total, loaded), url);
    }
  } catch (error) {
    if (context.signal?.aborted) throw new EdgeInferError('loader/aborted', 'The model load was aborted.', { cause: error });
    throw new EdgeInferError('loader/network', `The download of ${url} broke off after ${loaded} bytes. Check the connection and retry.`, { details: { url, receivedBytes: loaded }, cause: error });
  }
  const out = new Uint8Array(loaded);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out.buffer;
}

async function readCached(store: UseStore, file: BareFileRecord): Promise<ArrayBuffer | undefined> {
  const bytes = await readFile(store, file.sha256);
  if (!bytes) return undefined;
  if (bytes.byteLength === file.size && (await sha256Hex(bytes)) === file.sha256) return bytes;
  await deleteFile(store, file.sha256);
  return undefined;
}

const SRI_ALGORITHMS = { sha256: 'SHA-256', sha384: 'SHA-384', sha512: 'SHA-512' } as const;

/**
 * Subresource Integrity as browsers check it: of the hashes given, those of the strongest
 * algorithm count, and any one of them matching passes.
 */
async function checkIntegrity(url: string, bytes: ArrayBuffer, integrity: string | undefined, timings: BareResolution['timings']): Promise<void> {
  if (!integrity) return;
  const started = performance.now();
  const hashes = integrity
    .trim()
    .split(/\s+/)
    .map((token) => /^(sha256|sha384|sha512)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ algorithm: match[1] as keyof typeof SRI_ALGORITHMS, digest: match[2]! }));
  if (hashes.length === 0) {
    throw new EdgeInferError('loader/integrity', `integrity ${JSON.stringify(integrity)} is not in the Subresource Integrity form "sha256-<base64 digest>". Compute it with \`openssl dgst -sha256 -binary FILE | openssl base64 -A\`.`, {
      details: { url, integrity },
    });
  }
  const strongest = (['sha512', 'sha384', 'sha256'] as const).find((algorithm) => hashes.some((hash) => hash.algorithm === algorithm))!;
  const digest = new Uint8Array(await crypto.subtle.digest(SRI_ALGORITHMS[strongest], bytes));
  const actual = btoa(String.fromCharCode(...digest));
  timings.verifyMs += performance.now() - started;
  if (!hashes.some((hash) => hash.algorithm === strongest && hash.digest === actual)) {
    throw new EdgeInferError('loader/integrity', `${url} failed its integrity check (${strongest}-${actual}, integrity says ${integrity}). Nothing was cached; the server may hold a different file than the one you pinned.`, {
      details: { file: url, url, expected: integrity, actual: `${strongest}-${actual}` },
    });
  }
}

/** A changed file anywhere in the model is a new version, so caches and remembered benchmark winners never mix two files. */
async function versionOf(files: readonly BareFileRecord[]): Promise<string> {
  const digest = await sha256Hex(new TextEncoder().encode(files.map((file) => file.sha256).join(',')));
  return `0.0.0-${digest.slice(0, 12)}`;
}

function offlineError(url: string): EdgeInferError {
  return new EdgeInferError('loader/offline', `The device is offline and the model file ${url} is not cached. Connect once so the model can be cached.`, {
    details: { url, looksLike: 'bare-model' },
  });
}

function isEdgeInferError(error: unknown, code: string): boolean {
  return error instanceof EdgeInferError && error.code === code;
}
