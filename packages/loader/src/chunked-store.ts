import { openYieldingStore } from '@edgeinfer/core';
import { del, delMany, entries, get, getMany, set, type UseStore } from 'idb-keyval';

/**
 * Model files kept as Blob chunks in a dedicated idb-keyval store. Values are never one giant
 * record (large single values are slow and fail on some quotas). A file becomes visible only when
 * its `file:` record is written, and that happens after every chunk is stored.
 */
export const DEFAULT_CHUNK_BYTES = 16 * 1024 * 1024;

export interface StoredFile {
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly chunkCount: number;
}

export interface CachedModelRecord {
  readonly key: string;
  readonly modelId: string;
  readonly version: string;
  readonly variant: string;
  readonly files: readonly { path: string; sha256: string; sizeBytes: number }[];
  readonly sizeBytes: number;
  readonly cachedAt: number;
  readonly lastUsedAt: number;
}

/**
 * The model cache's store: it yields its connection on `versionchange`, so an app's
 * `indexedDB.deleteDatabase('edgeinfer-models')` completes while a model is loaded.
 */
export const openModelStore = (databaseName = 'edgeinfer-models', storeName = 'files'): UseStore => openYieldingStore(databaseName, storeName);

const fileKey = (sha256: string) => `file:${sha256}`;
const chunkKey = (sha256: string, index: number) => `chunk:${sha256}:${index}`;
const modelKey = (key: string) => `model:${key}`;

export async function writeFile(store: UseStore, sha256: string, bytes: ArrayBuffer, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<void> {
  const chunkCount = Math.max(1, Math.ceil(bytes.byteLength / chunkBytes));
  for (let index = 0; index < chunkCount; index++) {
    await set(chunkKey(sha256, index), new Blob([bytes.slice(index * chunkBytes, (index + 1) * chunkBytes)]), store);
  }
  const record: StoredFile = { sha256, sizeBytes: bytes.byteLength, chunkCount };
  await set(fileKey(sha256), record, store);
}

/** Returns the file's bytes, or undefined when it is missing or incomplete (never a partial file). */
export async function readFile(store: UseStore, sha256: string): Promise<ArrayBuffer | undefined> {
  const record = await get<StoredFile>(fileKey(sha256), store);
  if (!record) return undefined;
  const chunks = await getMany<Blob | undefined>(
    Array.from({ length: record.chunkCount }, (_, index) => chunkKey(sha256, index)),
    store,
  );
  if (chunks.some((chunk) => !(chunk instanceof Blob))) return undefined;
  const bytes = await new Blob(chunks as Blob[]).arrayBuffer();
  return bytes.byteLength === record.sizeBytes ? bytes : undefined;
}

export async function deleteFile(store: UseStore, sha256: string): Promise<void> {
  const record = await get<StoredFile>(fileKey(sha256), store);
  await del(fileKey(sha256), store);
  if (record) await delMany(Array.from({ length: record.chunkCount }, (_, index) => chunkKey(sha256, index)), store);
}

export async function writeModelRecord(store: UseStore, record: CachedModelRecord): Promise<void> {
  await set(modelKey(record.key), record, store);
}

export async function readModelRecord(store: UseStore, key: string): Promise<CachedModelRecord | undefined> {
  return get<CachedModelRecord>(modelKey(key), store);
}

export async function listModelRecords(store: UseStore): Promise<CachedModelRecord[]> {
  const all = await entries<string, unknown>(store);
  return all.filter(([key]) => String(key).startsWith('model:')).map(([, value]) => value as CachedModelRecord);
}

/** Deletes a model's record, then every file no other cached model still uses. */
export async function deleteModelRecord(store: UseStore, key: string): Promise<void> {
  const record = await readModelRecord(store, key);
  if (!record) return;
  await del(modelKey(key), store);
  const stillUsed = new Set((await listModelRecords(store)).flatMap((other) => other.files.map((file) => file.sha256)));
  for (const file of record.files) if (!stillUsed.has(file.sha256)) await deleteFile(store, file.sha256);
}

export async function writeValue(store: UseStore, key: string, value: unknown): Promise<void> {
  await set(`meta:${key}`, value, store);
}

export async function readValue<T>(store: UseStore, key: string): Promise<T | undefined> {
  return get<T>(`meta:${key}`, store);
}
