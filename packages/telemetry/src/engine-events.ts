import type { EventInput, ModelRef } from './schema.js';

/**
 * The shape of the engine's events as this package needs them. Declared here rather than imported
 * because telemetry sits below the engine in the layers; the engine's events satisfy it structurally.
 */
export interface EngineEventLike {
  readonly type: string;
  readonly info?: {
    readonly id: string;
    readonly version: string;
    readonly variant: string;
    readonly backend: string;
    readonly fromCache?: boolean;
    readonly sizeBytes?: number;
    readonly timings?: { readonly downloadMs: number; readonly compileMs: number; readonly warmupMs: number; readonly totalMs: number };
  };
  readonly fallback?: { readonly backend: string; readonly code: string; readonly message?: string };
  readonly code?: string;
  readonly backend?: string;
  readonly queueMs?: number;
  readonly runMs?: number;
  readonly totalMs?: number;
  /** Set on runs made by classify(): the result's top-1 probability and class (the quality signal). */
  readonly top1Probability?: number;
  readonly top1Class?: number;
}

/** Maps one engine event to a telemetry event, or null for events telemetry does not report (e.g. worker restarts). */
export function engineEventToTelemetry(event: EngineEventLike): EventInput | null {
  const info = event.info;
  const model: ModelRef | undefined = info ? { id: info.id, version: info.version, variant: info.variant } : undefined;
  switch (event.type) {
    case 'load':
      if (!info || !model) return null;
      return {
        type: 'load',
        model,
        backend: info.backend,
        downloadMs: info.timings?.downloadMs ?? 0,
        compileMs: info.timings?.compileMs ?? 0,
        warmupMs: info.timings?.warmupMs ?? 0,
        totalMs: info.timings?.totalMs ?? 0,
        cacheHit: info.fromCache ?? false,
        bytes: info.sizeBytes ?? 0,
      };
    case 'run':
    case 'inference': {
      if (!info || !model || event.runMs === undefined) return null;
      const queueMs = event.queueMs ?? 0;
      const quality = {
        ...(typeof event.top1Probability === 'number' && event.top1Probability >= 0 && event.top1Probability <= 1 ? { top1Probability: event.top1Probability } : {}),
        ...(Number.isInteger(event.top1Class) && event.top1Class! >= 0 ? { top1Class: event.top1Class! } : {}),
      };
      return { type: 'inference', model, backend: event.backend ?? info.backend, queueMs, runMs: event.runMs, totalMs: event.totalMs ?? queueMs + event.runMs, ...quality };
    }
    case 'fallback':
      if (!model || !event.fallback) return null;
      return { type: 'fallback', model, from: event.fallback.backend, to: info?.backend ?? 'none', code: event.fallback.code };
    case 'error':
      return { type: 'error', code: event.code ?? 'engine/backend-failed', ...(model ? { model } : {}), ...(info ? { backend: info.backend } : {}) };
    default:
      return null;
  }
}

/**
 * The log record an engine event is worth for the operator, or null: a fallback is a warn record with
 * its code (the "why does this device fall back" question), an error an error record. The message is
 * built here from codes and backend names only; the engine's own message may quote data and is left out.
 */
export function engineEventToLog(event: EngineEventLike): EventInput | null {
  const info = event.info;
  const model: ModelRef | undefined = info ? { id: info.id, version: info.version, variant: info.variant } : undefined;
  if (event.type === 'fallback' && event.fallback) {
    return {
      type: 'log',
      level: 'warn',
      code: event.fallback.code,
      message: `${info?.id ?? 'model'} fell back from ${event.fallback.backend} to ${info?.backend ?? 'none'} (${event.fallback.code})`,
      ...(model ? { model } : {}),
      backend: event.fallback.backend,
    };
  }
  if (event.type === 'error') {
    const code = event.code ?? 'engine/backend-failed';
    return { type: 'log', level: 'error', code, message: `${info?.id ?? 'engine'} failed with ${code}${info ? ` on ${info.backend}` : ''}`, ...(model ? { model } : {}), ...(info ? { backend: info.backend } : {}) };
  }
  return null;
}
