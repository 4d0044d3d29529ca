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
  readonly fallback?: { readonly backend: string; readonly code: string };
  readonly code?: string;
  readonly backend?: string;
  readonly queueMs?: number;
  readonly runMs?: number;
  readonly totalMs?: number;
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
      return { type: 'inference', model, backend: event.backend ?? info.backend, queueMs, runMs: event.runMs, totalMs: event.totalMs ?? queueMs + event.runMs };
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
