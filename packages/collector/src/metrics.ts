import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Label values come from untrusted events. Only models the cardinality limit admitted reach here
 * (stored events), and a model's series are removed when it leaves the limit's window, so junk
 * ids cannot keep places that real traffic needs. Backends are free text too: a model keeps this
 * many; past that, and past the hard cap, observations go to "other".
 */
const MAX_BACKENDS_PER_MODEL = 8;
const DEFAULT_MAX_SERIES = 5000;

export interface CollectorMetrics {
  readonly registry: Registry;
  readonly eventsAccepted: Counter<'app' | 'type'>;
  readonly eventsDuplicate: Counter<'app'>;
  readonly requestsRejected: Counter<'code'>;
  readonly ingestSeconds: Histogram<'outcome'>;
  readonly rollupEvents: Counter;
  readonly rollupFailures: Counter;
  /** Events of an accepted batch that were refused one by one (e.g. ts outside the window). */
  readonly eventsRejected: Counter<'app' | 'code'>;
  /** Devices by state, as the heartbeat watch last saw them. */
  readonly devices: Gauge<'app' | 'state'>;
  readonly devicesSilent: Gauge<'app'>;
  readonly guardEvaluations: Counter<'model' | 'verdict'>;
  readonly guardRevocations: Counter<'model' | 'dry_run'>;
  readonly webhookFailures: Counter;
  /** Per model and version: inferences, errors and fallbacks (what the error- and fallback-rate alerts divide). */
  observeEvent(app: string, model: string, version: string, type: string): void;
  observeInference(app: string, model: string, backend: string, durationMs: number): void;
  /** Removes a model's series (it left the cardinality window). */
  forgetModel(app: string, model: string): void;
}

/** A registry per collector, so two collectors in one process (tests) never share counters. */
export function createCollectorMetrics(options: { readonly maxSeries?: number } = {}): CollectorMetrics {
  const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
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
  const modelEvents = new Counter({
    name: 'edgeinfer_model_events_total',
    help: 'Stored inference, error and fallback events per model and version (error rate = error / (inference + error)).',
    labelNames: ['app', 'model', 'version', 'type'] as const,
    registers: [registry],
  });
  const eventChildren = new Map<string, ReturnType<typeof modelEvents.labels>>();
  const versionsByModel = new Map<string, Set<string>>();
  const backendsByModel = new Map<string, Set<string>>();
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
    eventsRejected: new Counter({ name: 'edgeinfer_collector_events_rejected_total', help: 'Events refused one by one inside an accepted batch, by reason code.', labelNames: ['app', 'code'] as const, registers: [registry] }),
    devices: new Gauge({ name: 'edgeinfer_devices', help: 'Devices seen in the last 24 h by state: alive (heartbeat within the stale interval) or silent.', labelNames: ['app', 'state'] as const, registers: [registry] }),
    devicesSilent: new Gauge({ name: 'edgeinfer_devices_silent', help: 'Devices whose last heartbeat is older than their stale interval (seen in the last 24 h).', labelNames: ['app'] as const, registers: [registry] }),
    guardEvaluations: new Counter({ name: 'edgeinfer_guard_evaluations_total', help: 'Canary guard comparisons, by model and verdict.', labelNames: ['model', 'verdict'] as const, registers: [registry] }),
    guardRevocations: new Counter({ name: 'edgeinfer_guard_revocations_total', help: 'Canaries the guard revoked (dry_run="true": would have).', labelNames: ['model', 'dry_run'] as const, registers: [registry] }),
    webhookFailures: new Counter({ name: 'edgeinfer_collector_webhook_failures_total', help: 'Webhook deliveries that failed after retries.', registers: [registry] }),
    observeEvent(app, model, version, type) {
      const key = `${app}\u0000${model}\u0000${version}\u0000${type}`;
      let child = eventChildren.get(key);
      if (child === undefined) {
        const modelKey = `${app}\u0000${model}`;
        const versions = versionsByModel.get(modelKey) ?? new Set<string>();
        // The same bound as latency series: versions per model are limited by the cardinality limiter too.
        if (eventChildren.size >= maxSeries || (!versions.has(version) && versions.size >= MAX_BACKENDS_PER_MODEL * 4)) {
          modelEvents.labels(app, 'other', 'other', type).inc();
          return;
        }
        child = modelEvents.labels(app, model, version, type);
        eventChildren.set(key, child);
        versions.add(version);
        versionsByModel.set(modelKey, versions);
      }
      child.inc();
    },
    observeInference(app, model, backend, durationMs) {
      const key = `${app}\u0000${model}\u0000${backend}`;
      let child = children.get(key);
      if (child === undefined) {
        const modelKey = `${app}\u0000${model}`;
        const backends = backendsByModel.get(modelKey) ?? new Set<string>();
        if (children.size >= maxSeries || backends.size >= MAX_BACKENDS_PER_MODEL) {
          inferenceMs.labels(app, 'other', 'other').observe(durationMs);
          return;
        }
        child = inferenceMs.labels(app, model, backend);
        children.set(key, child);
        backends.add(backend);
        backendsByModel.set(modelKey, backends);
      }
      child.observe(durationMs);
    },
    forgetModel(app, model) {
      const modelKey = `${app}\u0000${model}`;
      for (const backend of backendsByModel.get(modelKey) ?? []) {
        inferenceMs.remove(app, model, backend);
        children.delete(`${modelKey}\u0000${backend}`);
      }
      backendsByModel.delete(modelKey);
      for (const [key] of eventChildren) {
        if (!key.startsWith(`${modelKey}\u0000`)) continue;
        const [, , version, type] = key.split('\u0000');
        modelEvents.remove(app, model, version!, type!);
        eventChildren.delete(key);
      }
      versionsByModel.delete(modelKey);
    },
  };
}
