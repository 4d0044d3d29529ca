import { EdgeInferError } from '@edgeinfer/core';
import type { UseStore } from 'idb-keyval';
import { deleteModelRecord, listModelRecords } from './chunked-store.js';

/** Leave headroom: browsers count IndexedDB overhead and other origins' data against the quota. */
const USABLE_FRACTION = 0.9;

let persistRequested = false;

async function requestPersistence(): Promise<void> {
  if (persistRequested) return;
  persistRequested = true;
  // persist() exists only on the page's StorageManager, not in workers.
  const storage = navigator.storage as StorageManager & { persist?: () => Promise<boolean> };
  await storage.persist?.().catch(() => false);
}

/**
 * Makes room for `neededBytes`: asks for persistent storage, then evicts the least recently used
 * models (never `keepKey`) until the estimate fits, or throws `loader/quota`.
 */
export async function ensureRoom(store: UseStore, neededBytes: number, keepKey: string, maxCacheBytes = Infinity): Promise<string[]> {
  const evicted = await fitCacheBudget(store, neededBytes, keepKey, maxCacheBytes);
  if (typeof navigator === 'undefined' || !navigator.storage?.estimate) return evicted;
  await requestPersistence();
  // Chromium's estimate lags deletions (IndexedDB files shrink on compaction), so count what we freed.
  let freedBytes = 0;
  const fits = async () => {
    const { usage = 0, quota = Infinity } = await navigator.storage.estimate();
    return { fits: Math.max(0, usage - freedBytes) + neededBytes <= quota * USABLE_FRACTION, usage, quota };
  };
  let state = await fits();
  if (state.fits) return evicted;
  const candidates = (await listModelRecords(store)).filter((record) => record.key !== keepKey).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  for (const record of candidates) {
    await deleteModelRecord(store, record.key);
    evicted.push(record.key);
    freedBytes += record.sizeBytes;
    state = await fits();
    if (state.fits) return evicted;
  }
  throw new EdgeInferError(
    'loader/quota',
    `Not enough storage for this model: it needs ${neededBytes} bytes, ${state.usage} of ${state.quota} are used even after evicting ${evicted.length} cached model(s). Free space or pick a smaller variant.`,
    { details: { neededBytes, usageBytes: state.usage, quotaBytes: state.quota, evicted } },
  );
}

/** A write the browser refused for space becomes loader/quota, like a refused estimate. */
export function isQuotaExceeded(error: unknown): boolean {
  return error instanceof DOMException && (error.name === 'QuotaExceededError' || error.name === 'UnknownError' && /quota/i.test(error.message));
}

/** The app's own cap on the model cache (e.g. a kiosk with a small disk): evict LRU models to stay under it. */
async function fitCacheBudget(store: UseStore, neededBytes: number, keepKey: string, maxCacheBytes: number): Promise<string[]> {
  if (!Number.isFinite(maxCacheBytes)) return [];
  const records = (await listModelRecords(store)).filter((record) => record.key !== keepKey).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  let usedBytes = records.reduce((sum, record) => sum + record.sizeBytes, 0);
  const evicted: string[] = [];
  for (const record of records) {
    if (usedBytes + neededBytes <= maxCacheBytes) break;
    await deleteModelRecord(store, record.key);
    evicted.push(record.key);
    usedBytes -= record.sizeBytes;
  }
  if (usedBytes + neededBytes > maxCacheBytes) {
    throw new EdgeInferError(
      'loader/quota',
      `This model needs ${neededBytes} bytes but the model cache is capped at ${maxCacheBytes} (maxCacheBytes), even after evicting ${evicted.length} cached model(s). Raise the cap or pick a smaller variant.`,
      { details: { neededBytes, maxCacheBytes, evicted } },
    );
  }
  return evicted;
}
