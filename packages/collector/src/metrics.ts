import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Label values come from untrusted events; past this many combinations they collapse into "other". */
const MAX_SERIES = 500;

export interface CollectorMetrics {
  readonly registry: Registry;
  readonly eventsAccepted: Counter<'app' | 'type'>;
  readonly eventsDuplicate: Counter<'app'>;
  readonly requestsRejected: Counter<'code'>;
  readonly ingestSeconds: Histogram<'outcome'>;
  readonly rollupEvents: Counter;
  readonly rollupFailures: Counter;
  observeInference(app: string, model: string, backend: string, durationMs: number): void;
}

/** A registry per collector, so two collectors in one process (tests) never share counters. */
export function createCollectorMetrics(): CollectorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'edgeinfer_collector_' });
  const inferenceMs = new Histogram({
    name: 'edgeinfer_inference_duration_ms',
    help: 'Reported end-to-end inference latency (queue + run) per model and backend, in milliseconds.',
    labelNames: ['app', 'model', 'backend'] as const,
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000],
    registers: [registry],
  });
  // Children cached per label set: prom-client hashes the labels on every call otherwise.
  const children = new Map<string, ReturnType<typeof inferenceMs.labels>>();
  return {
    registry,
    eventsAccepted: new Counter({ name: 'edgeinfer_collector_events_accepted_total', help: 'Events stored, by app and type.', labelNames: ['app', 'type'] as const, registers: [registry] }),
    eventsDuplicate: new Counter({ name: 'edgeinfer_collector_events_duplicate_total', help: 'Events received again (client retries) and not stored twice.', labelNames: ['app'] as const, registers: [registry] }),
    requestsRejected: new Counter({ name: 'edgeinfer_collector_requests_rejected_total', help: 'Requests answered with an error, by error code.', labelNames: ['code'] as const, registers: [registry] }),
    rollupEvents: new Counter({ name: 'edgeinfer_collector_rollup_events_total', help: 'Events folded into minute rollups by this process (compare with events accepted to see it keep up).', registers: [registry] }),
    rollupFailures: new Counter({ name: 'edgeinfer_collector_rollup_failures_total', help: 'Roll-up steps that failed (stats stay exact, only slower).', registers: [registry] }),
    ingestSeconds: new Histogram({
      name: 'edgeinfer_collector_ingest_duration_seconds',
      help: 'Time to validate and durably store one posted batch.',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    observeInference(app, model, backend, durationMs) {
      const key = `${app}\u0000${model}\u0000${backend}`;
      let child = children.get(key);
      if (child === undefined) {
        child = children.size < MAX_SERIES ? inferenceMs.labels(app, model, backend) : inferenceMs.labels(app, 'other', 'other');
        if (children.size < MAX_SERIES) children.set(key, child);
      }
      child.observe(durationMs);
    },
  };
}
