import { randomUUID } from 'node:crypto';
import { mulberry32 } from '@edgeinfer/core';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';


export interface VersionBehaviour {
  readonly version: string;
  readonly variant?: string;
  /** Inference latency: uniform in [latencyMs, latencyMs + jitterMs). */
  readonly latencyMs: number;
  readonly jitterMs: number;
  /** Top-1 probability: uniform in [confidence - spread, confidence + spread], clamped to [0, 1]. */
  readonly confidence: number;
  readonly spread: number;
  /** Share of runs that fail (an error event instead of an inference). */
  readonly errorRate: number;
  /** Fallback events per inference. */
  readonly fallbackRate?: number;
  /** Share of inferences the user marked correct (one feedback per 5 inferences). */
  readonly accuracy?: number;
}

/** Events from `devices` simulated devices running one version of a model, spread evenly over [from, to). */
export function simulateDevices(options: { model: string; behaviour: VersionBehaviour; count: number; from: number; to: number; seed: number; devices?: number }): TelemetryEvent[] {
  // Seeded, so a simulated fleet sends the same numbers every run.
  const random = mulberry32(options.seed);
  const { behaviour } = options;
  const model = { id: options.model, version: behaviour.version, variant: behaviour.variant ?? 'fp32' };
  const devices = options.devices ?? 10;
  const events: TelemetryEvent[] = [];
  for (let index = 0; index < options.count; index += 1) {
    const ts = Math.floor(options.from + ((options.to - options.from) * index) / options.count);
    const base = { eventId: randomUUID(), ts, sessionId: `sim-${behaviour.version}-${index % devices}`, libraryVersion: '0.1.0', model, backend: 'ort-wasm' };
    if (random() < behaviour.errorRate) {
      events.push({ ...base, type: 'error', code: 'engine/backend-failed' });
      continue;
    }
    const totalMs = behaviour.latencyMs + random() * behaviour.jitterMs;
    const top1Probability = Math.min(1, Math.max(0, behaviour.confidence + (random() * 2 - 1) * behaviour.spread));
    events.push({ ...base, type: 'inference', queueMs: 0.1, runMs: totalMs - 0.1, totalMs, sampleRate: 1, top1Probability, top1Class: index % 10 });
    if (behaviour.fallbackRate !== undefined && random() < behaviour.fallbackRate) {
      events.push({ ...base, eventId: randomUUID(), type: 'fallback', from: 'ort-webgpu', to: 'ort-wasm', code: 'engine/backend-unavailable' });
    }
    if (behaviour.accuracy !== undefined && index % 5 === 0) events.push({ ...base, eventId: randomUUID(), type: 'feedback', correct: random() < behaviour.accuracy });
  }
  return events;
}

export const STABLE: VersionBehaviour = { version: '1.0.0', latencyMs: 4, jitterMs: 2, confidence: 0.9, spread: 0.08, errorRate: 0.005, fallbackRate: 0.01, accuracy: 0.9 };
/** Slower, less confident and failing more often than STABLE. */
export const WORSE_CANARY: VersionBehaviour = { version: '1.1.0', latencyMs: 7, jitterMs: 3, confidence: 0.7, spread: 0.15, errorRate: 0.05, fallbackRate: 0.01, accuracy: 0.75 };
/** Behaves like STABLE (other random draws). */
export const EQUAL_CANARY: VersionBehaviour = { ...STABLE, version: '1.1.0' };

export async function postEvents(url: string, key: string, events: readonly TelemetryEvent[]): Promise<void> {
  for (let index = 0; index < events.length; index += 500) {
    const response = await fetch(`${url}/v1/events?key=${encodeURIComponent(key)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: events.slice(index, index + 500) }) });
    if (response.status !== 200) throw new Error(`ingest answered ${response.status}: ${await response.text()}`);
  }
}
