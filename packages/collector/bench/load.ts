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

/** Streams a rate-limited run is split into; see runLoad. */
const PACED_STREAMS = 20;

const percentile = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

/** One autocannon instance; `onLatency` sees every 2xx answer's latency in ms. */
function start(options: LoadOptions, connections: number, overallRate: number | undefined, maxRequests: number, onLatency?: (ms: number) => void): Promise<autocannon.Result> {
  const nextBody = createBatchBodies(options.seed);
  let finish: (result: autocannon.Result) => void = () => undefined;
  let fail: (error: Error) => void = () => undefined;
  const done = new Promise<autocannon.Result>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const instance = autocannon({
    url: `http://127.0.0.1:${options.port}`,
    connections,
    duration: options.durationS,
    amount: undefined,
    maxOverallRequests: maxRequests,
    // autocannon "corrects" rate-limited latencies with an expected interval of ceil(1 / rate) ms
    // (lib/run.js), i.e. 1 ms at any rate, which adds made-up samples to every answer slower than
    // 1 ms; the latencies are taken from the 'response' events instead, as measured.
    ...(overallRate === undefined ? {} : { overallRate, ignoreCoordinatedOmission: true }),
    requests: [
      {
        method: 'POST',
        path: '/v1/events',
        headers: { 'content-type': 'application/json', 'x-edgeinfer-key': options.ingestKey },
        setupRequest: (request) => ({ ...request, body: nextBody() }),
      },
    ],
  }, (error, result) => (error ? fail(error) : finish(result)));
  if (onLatency) {
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) onLatency(responseTime);
    });
  }
  return done;
}

/**
 * POSTs batches of 50 fresh events to 127.0.0.1 with autocannon; latency is per request (one batch).
 *
 * Peak: `connections` connections as fast as the server answers. Rate-limited: autocannon's limit
 * is a per-second quota per connection, sent back to back when each second starts, so one instance
 * at half rate is a burst at full rate for half a second. The rate is therefore split over 20
 * one-connection instances started 50 ms apart, whose bursts interleave into an even load.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.overallRate === undefined) {
    const result = await start(options, options.connections, undefined, options.maxRequests);
    const ok = result['2xx'];
    return {
      durationS: result.duration,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      eventsPerSecond: (ok * BATCH_EVENTS) / result.duration,
      requestsPerSecond: ok / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
    };
  }
  const latencies: number[] = [];
  const streams = Array.from({ length: PACED_STREAMS }, (_, index) => index);
  const perStream = options.overallRate / PACED_STREAMS;
  const results = await Promise.all(
    streams.map(async (index) => {
      await new Promise((resolve) => setTimeout(resolve, (index * 1000) / PACED_STREAMS));
      return start({ ...options, seed: options.seed * 100 + index }, 1, Math.max(1, Math.round(perStream)), Math.ceil(options.maxRequests / PACED_STREAMS), (ms) => latencies.push(ms));
    }),
  );
  latencies.sort((a, b) => a - b);
  const ok = results.reduce((total, result) => total + result['2xx'], 0);
  const durationS = Math.max(...results.map((result) => result.duration));
  return {
    durationS,
    requests: results.reduce((total, result) => total + result.requests.total, 0),
    non2xx: results.reduce((total, result) => total + result.non2xx, 0),
    errors: results.reduce((total, result) => total + result.errors + result.timeouts, 0),
    eventsPerSecond: (ok * BATCH_EVENTS) / durationS,
    requestsPerSecond: ok / durationS,
    p50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
    p99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
    maxMs: Math.round((latencies.at(-1) ?? NaN) * 10) / 10,
  };
}
