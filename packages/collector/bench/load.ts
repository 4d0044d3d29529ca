import autocannon from 'autocannon';
import { BATCH_EVENTS, createBatchBodies } from './bench-events.js';

export interface LoadResult {
  readonly durationS: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly eventsPerSecond: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface LoadOptions {
  readonly port: number;
  readonly durationS: number;
  readonly connections: number;
  /** Requests per second over all connections; unset = as fast as the server answers. */
  readonly overallRate?: number;
  /** Hard cap on requests, so a run is bounded in count as well as in time. */
  readonly maxRequests: number;
  readonly ingestKey: string;
  readonly seed: number;
}

/** POSTs batches of 50 fresh events to 127.0.0.1 with autocannon; latency is per request (one batch). */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const nextBody = createBatchBodies(options.seed);
  const result = await autocannon({
    url: `http://127.0.0.1:${options.port}`,
    connections: options.connections,
    duration: options.durationS,
    amount: undefined,
    ...(options.overallRate === undefined ? {} : { overallRate: options.overallRate }),
    maxOverallRequests: options.maxRequests,
    requests: [
      {
        method: 'POST',
        path: '/v1/events',
        headers: { 'content-type': 'application/json', 'x-edgeinfer-key': options.ingestKey },
        setupRequest: (request) => ({ ...request, body: nextBody() }),
      },
    ],
  });
  const ok = result['2xx'];
  const durationS = result.duration;
  return {
    durationS,
    requests: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    eventsPerSecond: (ok * BATCH_EVENTS) / durationS,
    requestsPerSecond: ok / durationS,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
  };
}
