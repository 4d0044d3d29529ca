import { createHash, timingSafeEqual } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { EdgeInferError, isEdgeInferError, type ErrorCode } from '@edgeinfer/core';
import { validateBatch } from '@edgeinfer/telemetry/schema';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { DEFAULT_CARDINALITY_LIMITS, createCardinalityLimiter, type CardinalityLimits } from './cardinality-limiter.js';
import { createCanaryGuard, type CanaryGuard, type GuardConfig } from './canary-guard.js';
import { parseCompareQuery } from './compare-query.js';
import { registerDashboard } from './dashboard.js';
import { createHeartbeatWatch, silentAfterMs } from './heartbeat-watch.js';
import { parseLogQuery } from './logs.js';
import { createManifestSource } from './manifest-source.js';
import { createWebhook } from './webhook.js';
import { createCollectorMetrics } from './metrics.js';
import { parseStatsPage } from './stats-page.js';
import { parseStatsQuery } from './stats-query.js';
import type { CollectorStorage } from './storage.js';
import { DEFAULT_FUTURE_MS, splitByTsWindow, type TsWindow } from './ts-window.js';

export interface CollectorOptions {
  readonly storage: CollectorStorage;
  /** Ingest key -> app name. Keys ship inside page code: they identify and rate-limit an app, they do not protect reads. */
  readonly ingestKeys: Readonly<Record<string, string>>;
  /** Bearer token for /v1/stats, /v1/devices and the dashboard's data. */
  readonly adminToken: string;
  /** Requests per key per window. Default 6000 per minute (one flush every 10 s from 1000 devices). */
  readonly rateLimit?: { readonly max: number; readonly timeWindowMs: number };
  /** Largest accepted body. Default 256 KiB (a client never sends more than 64 KiB). */
  readonly bodyLimit?: number;
  /** Events older than this are deleted hourly. Default 30; 0 keeps everything. */
  readonly retentionDays?: number;
  /** How often new events are folded into minute rollups (what keeps GET /v1/stats fast). Default 1000 ms; 0 turns it off. */
  readonly rollupIntervalMs?: number;
  /** A device whose last heartbeat is older than this is shown as stale. Default 2 minutes. */
  readonly staleAfterMs?: number;
  /** Which event ts are accepted; see TsWindow. Retention also deletes events dated past `futureMs`. */
  readonly acceptTs?: Partial<TsWindow>;
  /** Distinct models, versions and devices per app and window; see CardinalityLimits. */
  readonly cardinality?: Partial<CardinalityLimits>;
  /** When true, GET /metrics needs the admin token too. Default false (scrapers on a private network). */
  readonly metricsAuth?: boolean;
  /** Serve this manifest file at GET /v1/manifest.json (re-read when it changes). */
  readonly manifest?: { readonly path: string; readonly baseUrl?: string };
  /** Revoke canaries that compare worse than stable; needs `manifest`. Off when absent. */
  readonly guard?: GuardConfig;
  /** POSTed JSON for guard decisions and devices going silent or coming back. */
  readonly webhookUrl?: string;
  /** How often device states are refreshed for /metrics and the webhook. Default 15 s; 0 turns it off. */
  readonly heartbeatCheckMs?: number;
  readonly logger?: boolean;
}

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  'collector/auth': 401,
  'collector/invalid-batch': 400,
  'collector/invalid-query': 400,
  'collector/payload-too-large': 413,
  'collector/rate-limited': 429,
  'collector/not-found': 404,
  'collector/storage': 503,
  'collector/invalid-timestamp': 400,
  'collector/cardinality-limit': 429,
  'collector/query-timeout': 503,
  'collector/storage-replaced': 503,
  'collector/storage-full': 503,
  'collector/storage-read-only': 503,
  'collector/storage-io': 503,
  'collector/manifest': 503,
  'collector/guard': 409,
};

/** Fastify's own client errors, mapped onto our codes so every 4xx has the same shape. */
const CODE_BY_FASTIFY_ERROR: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'collector/invalid-batch',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'collector/invalid-batch',
  FST_ERR_CTP_INVALID_JSON_BODY: 'collector/invalid-batch',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'collector/invalid-batch',
};

const RETENTION_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function ingestKeyOf(request: FastifyRequest): string | undefined {
  return single(request.headers['x-edgeinfer-key']) ?? single((request.query as Record<string, unknown> | undefined)?.['key']);
}

function toErrorBody(error: EdgeInferError): Record<string, unknown> {
  return { code: error.code, message: error.message, ...(Object.keys(error.details).length > 0 ? { details: error.details } : {}) };
}

/** Builds the collector's Fastify app; call `listen` or `inject` on it. Closing it closes the storage. */
export function createCollector(options: CollectorOptions): FastifyInstance {
  const bodyLimit = options.bodyLimit ?? 256 * 1024;
  const app = Fastify({ logger: options.logger ?? false, bodyLimit });
  const storage = options.storage;
  const retentionDays = options.retentionDays ?? 30;
  const tsWindow: TsWindow = {
    pastMs: options.acceptTs?.pastMs ?? (retentionDays > 0 ? retentionDays * DAY_MS : Infinity),
    futureMs: options.acceptTs?.futureMs ?? DEFAULT_FUTURE_MS,
  };
  const limits: CardinalityLimits = { ...DEFAULT_CARDINALITY_LIMITS, ...options.cardinality };
  const apps = new Map(Object.entries(options.ingestKeys));
  const metrics = createCollectorMetrics({ maxSeries: Math.max(500, new Set(apps.values()).size * limits.maxModels * 8) });
  const cardinality = createCardinalityLimiter(limits, (appName, model) => metrics.forgetModel(appName, model));
  // (apps above is a Map, not the plain object: a key such as "__proto__" or "constructor" must not name an app.)
  const adminDigest = digest(options.adminToken);

  // sendBeacon cannot set a JSON content type without a CORS preflight, so beacons (and the
  // client's keepalive fetches) post JSON as text/plain.
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));

  app.setErrorHandler((error: FastifyError | EdgeInferError, request, reply) => {
    let typed: EdgeInferError;
    if (isEdgeInferError(error)) typed = error;
    else if (error.statusCode === 429) typed = new EdgeInferError('collector/rate-limited', `Too many requests for this ingest key; retry after ${String(reply.getHeader('retry-after') ?? 'a while')} s.`);
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') typed = new EdgeInferError('collector/payload-too-large', `The body is larger than the ${bodyLimit} bytes this collector accepts; send smaller batches.`);
    else if (CODE_BY_FASTIFY_ERROR[error.code] !== undefined) typed = new EdgeInferError(CODE_BY_FASTIFY_ERROR[error.code]!, error.message, { details: { fastifyCode: error.code } });
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) typed = new EdgeInferError('collector/invalid-batch', error.message);
    else typed = new EdgeInferError('collector/storage', 'The collector failed while handling the request; it was not stored. Retry later.', { cause: error });
    const status = STATUS_BY_CODE[typed.code] ?? 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const retryAfterS = typed.details['retryAfterS'];
    if (typeof retryAfterS === 'number') void reply.header('retry-after', String(retryAfterS));
    metrics.requestsRejected.inc({ code: typed.code });
    void reply.code(status).send(toErrorBody(typed));
  });

  app.setNotFoundHandler((request, reply) => {
    metrics.requestsRejected.inc({ code: 'collector/not-found' });
    void reply.code(404).send({ code: 'collector/not-found', message: `No route ${request.method} ${request.url.split('?')[0]}.` });
  });

  const requireAdmin = async (request: FastifyRequest) => {
    const header = single(request.headers.authorization) ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    if (token === '' || !timingSafeEqual(digest(token), adminDigest)) {
      throw new EdgeInferError('collector/auth', 'Reads need the admin token: send "Authorization: Bearer <token>".');
    }
  };

  const allowAnyOrigin = async (_request: FastifyRequest, reply: FastifyReply) => {
    // Pages on any origin report to the collector; nothing readable is exposed by an ingest answer.
    // Retry-After is exposed so the telemetry client can honour it across origins.
    void reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', 'retry-after');
  };

  const authenticate = async (request: FastifyRequest) => {
    const key = ingestKeyOf(request);
    if (key === undefined) throw new EdgeInferError('collector/auth', 'Missing ingest key: send the "x-edgeinfer-key" header or the "key" query parameter.');
    if (!apps.has(key)) throw new EdgeInferError('collector/auth', 'Unknown ingest key; check the appKey the page was built with.');
  };

  app.register(async (scope) => {
    await scope.register(rateLimit, { global: false });
    // Also on answers the rate limiter or the error handler produced before the route's hooks ran.
    scope.addHook('onSend', async (request, reply, payload) => {
      if (request.url.startsWith('/v1/events')) void reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', 'retry-after');
      return payload;
    });

    scope.options('/v1/events', async (_request, reply) => {
      void reply
        .code(204)
        .header('access-control-allow-origin', '*')
        .header('access-control-allow-methods', 'POST')
        .header('access-control-allow-headers', 'content-type, x-edgeinfer-key')
        .header('access-control-max-age', '86400')
        .send();
    });

    scope.post(
      '/v1/events',
      {
        // Authentication before the body is read: an unknown key costs no parsing.
        onRequest: [allowAnyOrigin, authenticate],
        config: {
          rateLimit: {
            max: options.rateLimit?.max ?? 6000,
            timeWindow: options.rateLimit?.timeWindowMs ?? 60_000,
            keyGenerator: (request: FastifyRequest) => `key:${ingestKeyOf(request) ?? `ip:${request.ip}`}`,
          },
        },
      },
      async (request, reply) => {
        const stopTimer = metrics.ingestSeconds.startTimer();
        const appName = apps.get(ingestKeyOf(request) ?? '')!;
        const checked = validateBatch(request.body);
        if (!checked.ok) {
          stopTimer({ outcome: 'invalid' });
          throw new EdgeInferError('collector/invalid-batch', `The batch does not match the telemetry schema: ${checked.issues.map((issue) => `${issue.path || '(body)'} ${issue.message}`).slice(0, 3).join('; ')}.`, {
            details: { issues: checked.issues },
          });
        }
        const now = Date.now();
        const window = splitByTsWindow(checked.value.events, now, tsWindow);
        if (window.error !== null) {
          stopTimer({ outcome: 'invalid' });
          throw window.error;
        }
        if (window.rejectedCount > 0) metrics.eventsRejected.inc({ app: appName, code: 'collector/invalid-timestamp' }, window.rejectedCount);
        const events = window.inside;
        const overLimit = cardinality.check(appName, events, now);
        if (overLimit !== null) {
          stopTimer({ outcome: 'limited' });
          throw overLimit;
        }
        // Many collectors on one database: the limit is over all of them, asked only about values
        // this process has not had confirmed within the refresh period (most batches ask nothing).
        const unconfirmed = storage.admitCardinality === undefined ? [] : cardinality.unconfirmed(appName, events, now);
        if (unconfirmed.length > 0) {
          let refusal: Awaited<ReturnType<NonNullable<CollectorStorage['admitCardinality']>>>;
          try {
            refusal = await storage.admitCardinality!(appName, unconfirmed, limits, now);
          } catch (error) {
            stopTimer({ outcome: 'failed' });
            throw error;
          }
          if (refusal !== null) {
            stopTimer({ outcome: 'limited' });
            throw cardinality.sharedRefusal(appName, events, refusal, now);
          }
          cardinality.confirm(appName, unconfirmed, now);
        }
        let result: Awaited<ReturnType<CollectorStorage['insertBatch']>>;
        try {
          result = await storage.insertBatch(appName, events, now);
        } catch (error) {
          stopTimer({ outcome: 'failed' });
          throw error;
        }
        cardinality.admit(appName, events, now);
        stopTimer({ outcome: 'stored' });
        // Counted after the commit: metrics never show events the database does not have.
        const acceptedByType = new Map<string, number>();
        for (const event of events) {
          if (!result.acceptedIds.has(event.eventId)) continue;
          acceptedByType.set(event.type, (acceptedByType.get(event.type) ?? 0) + 1);
          if (event.type === 'inference') metrics.observeInference(appName, event.model.id, event.backend, event.totalMs);
          if (event.type === 'inference' || event.type === 'fallback' || event.type === 'error') metrics.observeEvent(appName, event.model?.id ?? 'none', event.model?.version ?? 'none', event.type);
        }
        for (const [type, count] of acceptedByType) metrics.eventsAccepted.inc({ app: appName, type }, count);
        if (result.duplicates > 0) metrics.eventsDuplicate.inc({ app: appName }, result.duplicates);
        // Refused events are listed (by index in the posted batch) so the client counts them as dropped.
        const rejected = window.rejectedCount === 0 ? {} : { rejected: { count: window.rejectedCount, code: 'collector/invalid-timestamp', events: window.rejected } };
        return reply.code(200).send({ accepted: result.accepted, duplicates: result.duplicates, ...rejected });
      },
    );
  });

  app.get('/v1/stats', { preHandler: requireAdmin }, async (request) => {
    const { page, rest } = parseStatsPage(request.query as Record<string, unknown>);
    const query = parseStatsQuery(rest, Date.now());
    return storage.stats(page === null ? query : { ...query, page });
  });

  app.get('/v1/devices', { preHandler: requireAdmin }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const now = Date.now();
    const staleAfterMs = options.staleAfterMs ?? 120_000;
    const devices = await storage.devices(now - DAY_MS, single(query['app']));
    return { now, staleAfterMs, devices: devices.map((device) => ({ ...device, alive: now - device.lastSeen <= silentAfterMs(device, staleAfterMs) })) };
  });

  app.get('/v1/compare', { preHandler: requireAdmin }, async (request) => storage.compare(parseCompareQuery(request.query as Record<string, unknown>, Date.now())));

  app.get('/v1/logs', { preHandler: requireAdmin }, async (request) => {
    const query = parseLogQuery(request.query as Record<string, unknown>, Date.now());
    return { from: query.from, to: query.to, logs: await storage.logs(query) };
  });

  app.get('/v1/audit', { preHandler: requireAdmin }, async (request) => {
    const query = request.query as Record<string, unknown>;
    const limit = query['limit'] === undefined ? 100 : Number(query['limit']);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new EdgeInferError('collector/invalid-query', 'Query parameter "limit" must be an integer from 1 to 1000.', { details: { parameter: 'limit' } });
    const model = single(query['model']);
    return { entries: await storage.audit({ limit, ...(model === undefined ? {} : { model }) }) };
  });

  const webhook = options.webhookUrl === undefined ? undefined : createWebhook({ url: options.webhookUrl, onFailure: (error) => {
    metrics.webhookFailures.inc();
    app.log.warn({ err: error }, 'webhook delivery failed');
  } });

  const manifestSource = options.manifest === undefined ? null : createManifestSource(options.manifest);
  const sendManifest = async (request: FastifyRequest, reply: FastifyReply) => {
    // Read by apps on any origin (a plain GET, no preflight); no-cache so a revocation reaches devices at their next check.
    void reply.header('access-control-allow-origin', '*').header('access-control-expose-headers', 'etag').header('cross-origin-resource-policy', 'cross-origin').header('cache-control', 'no-cache');
    if (manifestSource === null) throw new EdgeInferError('collector/not-found', 'This collector serves no manifest; start it with --manifest <file>.');
    const served = await manifestSource.current();
    void reply.header('etag', served.etag);
    if (request.headers['if-none-match'] === served.etag) return reply.code(304).send();
    return reply.header('content-type', 'application/json; charset=utf-8').send(served.body);
  };
  app.get('/v1/manifest.json', sendManifest);

  let guard: CanaryGuard | null = null;
  if (options.guard !== undefined) {
    if (options.manifest === undefined) throw new EdgeInferError('collector/guard', 'The canary guard changes the manifest file: give the manifest (--manifest <file>) too.');
    guard = createCanaryGuard({ config: options.guard, manifestPath: options.manifest.path, storage, metrics, ...(webhook ? { webhook } : {}), log: (message, detail) => app.log.warn(detail, message) });
  }
  app.get('/v1/guard', { preHandler: requireAdmin }, async () =>
    guard === null ? { enabled: false } : { enabled: true, dryRun: guard.config.dryRun, intervalMs: guard.config.intervalMs, windowMs: guard.config.windowMs, models: guard.config.models, decisions: guard.lastDecisions() },
  );
  // Runs the guard now (an operator after a deploy, or a test) instead of waiting for the interval.
  app.post('/v1/guard/run', { preHandler: requireAdmin }, async () => {
    if (guard === null) throw new EdgeInferError('collector/not-found', 'No canary guard is configured; start the collector with --guard <file>.');
    return { dryRun: guard.config.dryRun, decisions: await guard.evaluate() };
  });

  app.get('/metrics', { preHandler: options.metricsAuth === true ? requireAdmin : [] }, async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(body);
  });

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/readyz', async (_request, reply) => {
    try {
      await storage.ping();
      return { ok: true, storage: storage.kind };
    } catch (cause) {
      // Not ready means "do not send me events": a load balancer takes this process out.
      const typed = isEdgeInferError(cause) ? cause : new EdgeInferError('collector/storage', `The database is not reachable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
      return reply.code(503).send(toErrorBody(typed));
    }
  });

  registerDashboard(app);

  let retentionTimer: ReturnType<typeof setInterval> | undefined;
  const runRetention = async () => {
    try {
      const now = Date.now();
      // Events dated past the accepted window (stored before it existed, or by a collector with a fast clock) go too.
      const deleted = await storage.deleteOlderThan(retentionDays > 0 ? now - retentionDays * DAY_MS : Number.MIN_SAFE_INTEGER, now + tsWindow.futureMs);
      if (deleted > 0) app.log.info({ deleted }, 'retention removed old and future-dated events');
    } catch (error) {
      app.log.error({ err: error }, 'retention failed; it runs again in an hour');
    }
  };
  app.addHook('onReady', async () => {
    await runRetention();
    retentionTimer = setInterval(() => void runRetention(), RETENTION_INTERVAL_MS);
    retentionTimer.unref();
  });

  // Folds events into rollups in small steps until caught up, yielding between steps so ingest
  // requests are served in between, then waits for the next tick.
  const rollupIntervalMs = options.rollupIntervalMs ?? 1000;
  let rollupTimer: ReturnType<typeof setTimeout> | undefined;
  let rollupRunning: Promise<void> = Promise.resolve();
  let closing = false;
  const rollUp = async () => {
    try {
      for (;;) {
        if (closing) break;
        const progress = await storage.rollUp();
        metrics.rollupEvents.inc(progress.events);
        if (progress.idle) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      metrics.rollupFailures.inc();
      app.log.error({ err: error }, 'roll-up failed; stats stay exact (read from events) and it runs again');
    }
    if (!closing) rollupTimer = setTimeout(() => (rollupRunning = rollUp()), rollupIntervalMs).unref();
  };
  if (rollupIntervalMs > 0) app.addHook('onReady', async () => void (rollupRunning = rollUp()));

  const heartbeatCheckMs = options.heartbeatCheckMs ?? 15_000;
  const heartbeats = heartbeatCheckMs > 0 ? createHeartbeatWatch({ storage, metrics, staleAfterMs: options.staleAfterMs ?? 120_000, intervalMs: heartbeatCheckMs, ...(webhook ? { webhook } : {}) }) : null;
  app.addHook('onReady', async () => {
    heartbeats?.start();
    guard?.start();
  });

  app.addHook('onClose', async () => {
    closing = true;
    await heartbeats?.stop();
    await guard?.stop();
    if (retentionTimer !== undefined) clearInterval(retentionTimer);
    if (rollupTimer !== undefined) clearTimeout(rollupTimer);
    await rollupRunning;
    await storage.close();
  });

  return app;
}
