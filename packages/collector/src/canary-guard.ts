import { readFileSync } from 'node:fs';
import { EdgeInferError, isEdgeInferError } from '@edgeinfer/core';
import { auditRow, type AuditEntry } from './audit.js';
import type { CompareResult, CompareThresholds } from './compare.js';
import { parseThresholds } from './compare-query.js';
import type { CollectorMetrics } from './metrics.js';
import type { CollectorStorage } from './storage.js';
import type { Webhook } from './webhook.js';

export interface GuardedModel {
  readonly thresholds: CompareThresholds;
  /** Only this app's events count (default: every app reporting the model). */
  readonly app?: string;
}

export interface GuardConfig {
  /** Report what would be revoked (audit log, webhook, /v1/guard) without changing the manifest. */
  readonly dryRun: boolean;
  readonly intervalMs: number;
  /** The comparison window, back from now. */
  readonly windowMs: number;
  readonly models: Readonly<Record<string, GuardedModel>>;
}

export interface GuardDecision {
  readonly model: string;
  readonly candidate: string | null;
  readonly baseline: string | null;
  readonly verdict: CompareResult['verdict'] | null;
  readonly action: 'none' | 'revoked' | 'would-revoke' | 'failed' | 'no-canary';
  readonly reasons: readonly string[];
  readonly at: number;
}

const KNOWN = new Set(['dryRun', 'intervalMs', 'windowMs', 'models']);

function invalid(message: string, details: Record<string, unknown> = {}): EdgeInferError {
  return new EdgeInferError('collector/guard', `Invalid guard configuration: ${message}.`, { details });
}

/** Reads `--guard <file>`: `{ dryRun?, intervalMs?, windowMs?, models: { "<id>": { maxErrorRateIncrease?, maxP95IncreasePct?, maxConfidenceDrop?, minEvents?, app?, ... } } }`. */
export function parseGuardConfig(value: unknown): GuardConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('expected an object');
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) if (!KNOWN.has(key)) throw invalid(`unknown field "${key}" (use ${[...KNOWN].join(', ')})`);
  const positive = (name: string, fallback: number) => {
    const raw = input[name] ?? fallback;
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw <= 0) throw invalid(`${name} must be a positive integer of milliseconds`);
    return raw;
  };
  if (input['dryRun'] !== undefined && typeof input['dryRun'] !== 'boolean') throw invalid('dryRun must be true or false');
  const models = input['models'];
  if (typeof models !== 'object' || models === null || Array.isArray(models) || Object.keys(models).length === 0) throw invalid('models must name at least one model');
  const parsed: Record<string, GuardedModel> = {};
  for (const [id, entry] of Object.entries(models as Record<string, unknown>)) {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw invalid(`models["${id}"] must be an object`);
    const { app, ...rest } = entry as Record<string, unknown>;
    if (app !== undefined && (typeof app !== 'string' || app === '')) throw invalid(`models["${id}"].app must be a non-empty string`);
    let thresholds: CompareThresholds;
    try {
      thresholds = parseThresholds(rest, undefined, `models["${id}"]`);
    } catch (error) {
      throw invalid(isEdgeInferError(error) ? error.message : String(error), { model: id });
    }
    const unknown = Object.keys(rest).filter((key) => !(key in thresholds));
    if (unknown.length > 0) throw invalid(`models["${id}"] has unknown field(s) ${unknown.join(', ')}`);
    parsed[id] = { thresholds, ...(typeof app === 'string' ? { app } : {}) };
  }
  return { dryRun: input['dryRun'] === true, intervalMs: positive('intervalMs', 60_000), windowMs: positive('windowMs', 3_600_000), models: parsed };
}

export function readGuardConfig(path: string): GuardConfig {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new EdgeInferError('collector/guard', `Cannot read the guard configuration ${path}: ${(cause as Error).message}.`, { cause, details: { path } });
  }
  return parseGuardConfig(json);
}

export interface CanaryGuard {
  readonly config: GuardConfig;
  /** Compares every guarded model's canary with its stable now, and acts on a "worse" verdict. */
  evaluate(now?: number): Promise<GuardDecision[]>;
  lastDecisions(): readonly GuardDecision[];
  start(): void;
  stop(): Promise<void>;
}

/** The part of the release CLI's `revoke` (`@edgeinfer/models/manifest`) the guard calls. */
type RevokeCanary = (options: { manifest: string; model: string; version: string; onlyCanary: true }) => {
  manifest: { models: Record<string, { channels: { stable: string; canary?: { version: string; percent: number } }; revoked?: string[] }> };
};

/**
 * The release CLI's manifest editing, loaded only when a guard first revokes: `@edgeinfer/models` is an
 * optional peer of the collector (it brings onnxruntime-node and TF.js for `add`, ~400 MB that an
 * operator who never guards a canary should not install).
 */
export async function loadRevoke(): Promise<RevokeCanary> {
  try {
    return ((await import('@edgeinfer/models/manifest')) as unknown as { revoke: RevokeCanary }).revoke;
  } catch (cause) {
    throw new EdgeInferError(
      'collector/guard-needs-models',
      'The canary guard revokes canaries with the release tool: install it beside the collector (npm install @edgeinfer/models), or run the guard with --guard-dry-run.',
      { cause },
    );
  }
}

export interface CanaryGuardOptions {
  readonly config: GuardConfig;
  readonly manifestPath: string;
  readonly storage: CollectorStorage;
  readonly metrics: CollectorMetrics;
  readonly webhook?: Webhook;
  readonly log?: (message: string, detail: Record<string, unknown>) => void;
}

/**
 * Watches canaries: each interval, for every guarded model whose manifest has a live canary, the
 * canary version is compared with stable over the window (GET /v1/compare's numbers). A "worse"
 * verdict revokes the canary in the manifest file (devices go back to stable at their next manifest
 * check), and every decision that changes or would change the manifest is written to the audit log.
 */
export function createCanaryGuard(options: CanaryGuardOptions): CanaryGuard {
  const { config, storage, metrics } = options;
  let decisions: GuardDecision[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  // A dry run reports a given canary once per process, not every interval.
  const reported = new Set<string>();

  const readChannels = (): Record<string, { stable: string; canary?: { version: string; percent: number }; revoked?: string[] }> => {
    const manifest = JSON.parse(readFileSync(options.manifestPath, 'utf8')) as { models?: Record<string, { channels: { stable: string; canary?: { version: string; percent: number } }; revoked?: string[] }> };
    return Object.fromEntries(Object.entries(manifest.models ?? {}).map(([id, model]) => [id, { ...model.channels, ...(model.revoked ? { revoked: model.revoked } : {}) }]));
  };

  /**
   * The release CLI's own `revoke` (`edgeinfer-models revoke`): the same checks, schema validation and
   * atomic write (temp file + rename). onlyCanary: refused, nothing written, when the manifest no
   * longer has this version as the canary (changed since the comparison).
   */
  const revokeCanary = async (modelId: string, version: string) => {
    const revoke = await loadRevoke();
    try {
      const { manifest } = revoke({ manifest: options.manifestPath, model: modelId, version, onlyCanary: true });
      const model = manifest.models[modelId]!;
      return { channels: model.channels, revoked: model.revoked ?? [] };
    } catch (cause) {
      throw new EdgeInferError('collector/guard', `Could not revoke canary ${version} of "${modelId}" in ${options.manifestPath}: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
        details: { path: options.manifestPath, model: modelId, version, ...(isEdgeInferError(cause) ? { releaseCode: cause.code } : {}) },
      });
    }
  };

  const record = async (entry: Omit<AuditEntry, 'id' | 'ts'>) => {
    const row = auditRow(entry);
    await storage.recordAudit(row);
    return row;
  };

  const evaluateModel = async (modelId: string, guarded: GuardedModel, channels: ReturnType<typeof readChannels>[string] | undefined, now: number): Promise<GuardDecision> => {
    const canary = channels?.canary;
    if (channels === undefined || canary === undefined || channels.revoked?.includes(canary.version)) {
      return { model: modelId, candidate: null, baseline: channels?.stable ?? null, verdict: null, action: 'no-canary', reasons: [], at: now };
    }
    const result = await storage.compare({ from: now - config.windowMs, to: now + 1, model: modelId, candidate: canary.version, baseline: channels.stable, thresholds: guarded.thresholds, ...(guarded.app ? { app: guarded.app } : {}) });
    metrics.guardEvaluations.inc({ model: modelId, verdict: result.verdict });
    const base = { model: modelId, candidate: canary.version, baseline: channels.stable, verdict: result.verdict, reasons: result.reasons, at: now };
    if (result.verdict !== 'worse') return { ...base, action: 'none' };
    const numbers = { verdict: result.verdict, reasons: result.reasons, checks: result.checks, candidate: result.candidate, baseline: result.baseline, thresholds: result.thresholds, window: { from: result.from, to: result.to }, canaryPercent: canary.percent };
    if (config.dryRun) {
      const key = `${modelId}\u0000${canary.version}`;
      if (!reported.has(key)) {
        reported.add(key);
        await record({ actor: 'canary-guard', action: 'would-revoke-canary', model: modelId, version: canary.version, dryRun: true, detail: { ...numbers, manifest: options.manifestPath } });
        metrics.guardRevocations.inc({ model: modelId, dry_run: 'true' });
        await options.webhook?.send({ event: 'canary-would-revoke', model: modelId, version: canary.version, stable: channels.stable, dryRun: true, reasons: result.reasons });
      }
      return { ...base, action: 'would-revoke' };
    }
    try {
      const change = await revokeCanary(modelId, canary.version);
      const before = { channels: { stable: channels.stable, canary }, revoked: channels.revoked ?? [] };
      await record({ actor: 'canary-guard', action: 'revoke-canary', model: modelId, version: canary.version, dryRun: false, detail: { ...numbers, manifest: options.manifestPath, before, after: change } });
      metrics.guardRevocations.inc({ model: modelId, dry_run: 'false' });
      options.log?.('canary revoked', { model: modelId, version: canary.version, reasons: result.reasons });
      await options.webhook?.send({ event: 'canary-revoked', model: modelId, version: canary.version, stable: channels.stable, dryRun: false, reasons: result.reasons });
      return { ...base, action: 'revoked' };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      await record({ actor: 'canary-guard', action: 'revoke-canary-failed', model: modelId, version: canary.version, dryRun: false, detail: { ...numbers, error: message } }).catch(() => undefined);
      options.log?.('canary revocation failed', { model: modelId, version: canary.version, error: message });
      return { ...base, action: 'failed', reasons: [...result.reasons, message] };
    }
  };

  const evaluate = async (now = Date.now()): Promise<GuardDecision[]> => {
    const run = running.then(async () => {
      let channels: ReturnType<typeof readChannels>;
      try {
        channels = readChannels();
      } catch (error) {
        const reasons = [`cannot read ${options.manifestPath}: ${(error as Error).message}`];
        decisions = Object.keys(config.models).map((model) => ({ model, candidate: null, baseline: null, verdict: null, action: 'failed' as const, reasons, at: now }));
        return decisions;
      }
      const next: GuardDecision[] = [];
      for (const [modelId, guarded] of Object.entries(config.models)) {
        try {
          next.push(await evaluateModel(modelId, guarded, channels[modelId], now));
        } catch (error) {
          next.push({ model: modelId, candidate: channels[modelId]?.canary?.version ?? null, baseline: channels[modelId]?.stable ?? null, verdict: null, action: 'failed', reasons: [(error as Error).message], at: now });
        }
      }
      decisions = next;
      return next;
    });
    running = run.catch(() => undefined);
    return run;
  };

  const tick = () => {
    if (stopped) return;
    void evaluate().finally(() => {
      if (!stopped) timer = setTimeout(tick, config.intervalMs).unref();
    });
  };

  return {
    config,
    evaluate,
    lastDecisions: () => decisions,
    start() {
      timer = setTimeout(tick, config.intervalMs).unref();
    },
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
