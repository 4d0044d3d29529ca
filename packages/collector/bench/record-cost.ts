import 'fake-indexeddb/auto';
import { createTelemetry } from '@edgeinfer/telemetry';

export interface RecordCost {
  readonly records: number;
  readonly meanUs: number;
  readonly p99BlockUs: number;
}

/**
 * Times telemetry.record() in Node with fake-indexeddb as the store: 10 records per timed block,
 * then a turn of the event loop so batches go out (to a fetch that answers 200 at once, the edge
 * of the world) as they would between inferences. Every event is kept (sampleRate 1), the worst case.
 */
export async function measureRecordCost(records: number): Promise<RecordCost> {
  const telemetry = createTelemetry({
    endpoint: 'http://127.0.0.1:9',
    appKey: 'bench',
    lifecycle: false,
    fetch: async () => new Response('{"accepted":50,"duplicates":0}', { status: 200 }),
  });
  const event = { type: 'inference', model: { id: 'fashion-mnist', version: '1.0.0', variant: 'int8' }, backend: 'wasm', queueMs: 0.05, runMs: 0.25, totalMs: 0.3 } as const;
  const blockUs: number[] = [];
  const block = 10;
  for (let done = 0; done < records; done += block) {
    const started = performance.now();
    for (let index = 0; index < block; index += 1) telemetry.record(event);
    blockUs.push(((performance.now() - started) * 1000) / block);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await telemetry.close();
  const warm = blockUs.slice(Math.floor(blockUs.length / 10));
  const sorted = [...warm].sort((a, b) => a - b);
  return { records, meanUs: warm.reduce((sum, value) => sum + value, 0) / warm.length, p99BlockUs: sorted[Math.ceil(0.99 * sorted.length) - 1]! };
}
