// A page for the telemetry browser spec: it records events through the public client and exposes
// it as window.__telemetry, so the spec drives the real browser paths (IndexedDB, sendBeacon, keepalive).
import { createIndexedDbEventStore, createTelemetry, type EventInput, type Telemetry } from '@edgeinfer/telemetry';

declare global {
  interface Window {
    __telemetry: {
      telemetry: Telemetry;
      recordInferences(count: number): void;
      storedCount(): Promise<number>;
    };
  }
}

const params = new URLSearchParams(location.search);
const storage = createIndexedDbEventStore();
const telemetry = createTelemetry({
  endpoint: params.get('endpoint') ?? 'http://127.0.0.1:8787',
  appKey: params.get('key') ?? 'dev-ingest-key',
  batchSize: Number(params.get('batchSize') ?? 50),
  flushIntervalMs: Number(params.get('flushIntervalMs') ?? 10_000),
  storage,
});

const inference: EventInput = { type: 'inference', model: { id: 'fashion-mnist', version: '1.0.0', variant: 'int8' }, backend: 'wasm', queueMs: 0.2, runMs: 3, totalMs: 3.2 };

window.__telemetry = {
  telemetry,
  recordInferences(count) {
    for (let index = 0; index < count; index += 1) telemetry.record({ ...inference, runMs: index, totalMs: index + 0.2 });
  },
  storedCount: async () => (await storage.getAll()).length,
};
document.body.dataset['ready'] = 'true';
