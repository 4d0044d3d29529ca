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
export async function ensureRoom(store: UseStore, neededBytes: number, keepKey: string): Promise<string[]> {
  if (typeof navigator === 'undefined' || !navigator.storage?.estimate) return [];
  await requestPersistence();
  const evicted: string[] = [];
  const fits = async () => {
    const { usage = 0, quota = Infinity } = await navigator.storage.estimate();
    return { fits: usage + neededBytes <= quota * USABLE_FRACTION, usage, quota };
  };
  let state = await fits();
  if (state.fits) return evicted;
  const candidates = (await listModelRecords(store)).filter((record) => record.key !== keepKey).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  for (const record of candidates) {
    await deleteModelRecord(store, record.key);
    evicted.push(record.key);
    state = await fits();
    if (state.fits) return evicted;
  }
  throw new EdgeInferError(
    'loader/quota',
    `Not enough storage for this model: it needs ${neededBytes} bytes, ${state.usage} of ${state.quota} are used even after evicting ${evicted.length} cached model(s). Free space or pick a smaller variant.`,
    { details: { neededBytes, usageBytes: state.usage, quotaBytes: state.quota, evicted } },
  );
}
