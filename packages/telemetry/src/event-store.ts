import { openYieldingStore } from '@edgeinfer/core';
import { delMany, entries, setMany, type UseStore } from 'idb-keyval';
import type { TelemetryEvent } from './schema.js';

/** Where undelivered events wait across offline periods and page reloads. */
export interface EventStore {
  getAll(): Promise<TelemetryEvent[]>;
  putMany(events: readonly TelemetryEvent[]): Promise<void>;
  deleteMany(eventIds: readonly string[]): Promise<void>;
}

/**
 * IndexedDB through idb-keyval, in a database of its own so clearing the model cache never drops
 * undelivered telemetry (and the reverse). Events are keyed by eventId, so writing one twice is harmless.
 * The connection yields on versionchange, so an app's deleteDatabase('edgeinfer-telemetry') is not blocked.
 */
export function createIndexedDbEventStore(databaseName = 'edgeinfer-telemetry'): EventStore {
  let store: UseStore | undefined;
  // Opened on first use, never at import or creation time.
  const use = () => (store ??= openYieldingStore(databaseName, 'events'));
  return {
    async getAll() {
      const rows = await entries<string, TelemetryEvent>(use());
      return rows.map(([, event]) => event).sort((a, b) => a.ts - b.ts);
    },
    putMany: (events) => setMany(events.map((event) => [event.eventId, event]), use()),
    deleteMany: (eventIds) => delMany([...eventIds], use()),
  };
}

/** For runtimes without IndexedDB (Node, some private modes): events live only as long as the page. */
export function createMemoryEventStore(): EventStore {
  const events = new Map<string, TelemetryEvent>();
  return {
    getAll: async () => [...events.values()].sort((a, b) => a.ts - b.ts),
    putMany: async (batch) => void batch.forEach((event) => events.set(event.eventId, event)),
    deleteMany: async (ids) => void ids.forEach((id) => events.delete(id)),
  };
}
