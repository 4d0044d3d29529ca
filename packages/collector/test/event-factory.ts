import { randomUUID } from 'node:crypto';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';

export function inferenceEvent(overrides: Partial<Record<string, unknown>> = {}): TelemetryEvent {
  return {
    eventId: randomUUID(),
    type: 'inference',
    ts: Date.now(),
    sessionId: 'session-1',
    libraryVersion: '0.1.0',
    model: { id: 'mnist', version: '1.0.0', variant: 'int8' },
    backend: 'wasm',
    queueMs: 1,
    runMs: 4,
    totalMs: 5,
    sampleRate: 1,
    ...overrides,
  } as TelemetryEvent;
}

export function errorEvent(overrides: Partial<Record<string, unknown>> = {}): TelemetryEvent {
  return {
    eventId: randomUUID(),
    type: 'error',
    ts: Date.now(),
    sessionId: 'session-1',
    libraryVersion: '0.1.0',
    model: { id: 'mnist', version: '1.0.0', variant: 'int8' },
    backend: 'wasm',
    code: 'engine/backend-failed',
    ...overrides,
  } as TelemetryEvent;
}

export function heartbeatEvent(overrides: Partial<Record<string, unknown>> = {}): TelemetryEvent {
  return {
    eventId: randomUUID(),
    type: 'heartbeat',
    ts: Date.now(),
    sessionId: 'session-1',
    libraryVersion: '0.1.0',
    fps: 30,
    p50Ms: 12,
    memoryBytes: 50_000_000,
    errors: 0,
    uptimeS: 600,
    deviceId: 'kiosk-1',
    ...overrides,
  } as TelemetryEvent;
}
