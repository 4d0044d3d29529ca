import { describe, expect, it } from 'vitest';
import { validateBatch, validateEvent } from '../src/schema.js';

const base = { eventId: '0b8f1a4e-7c1d-4a52-9d1e-3f5a6b7c8d9e', ts: 1_700_000_000_000, sessionId: 's', libraryVersion: '0.1.0' };
const model = { id: 'mnist', version: '1.0.0', variant: 'int8' };

describe('event schema', () => {
  it('accepts each event type with its fields', () => {
    const events = [
      { ...base, type: 'load', model, backend: 'wasm', downloadMs: 10, compileMs: 5, warmupMs: 2, totalMs: 17, cacheHit: true, bytes: 1024 },
      { ...base, type: 'inference', model, backend: 'webgpu', queueMs: 0.5, runMs: 3, totalMs: 3.5, sampleRate: 0.1 },
      { ...base, type: 'fallback', model, from: 'webgpu', to: 'wasm', code: 'engine/backend-failed' },
      { ...base, type: 'error', code: 'loader/network' },
      { ...base, type: 'heartbeat', fps: 29.5, p50Ms: 12, memoryBytes: 1e8, errors: 0, uptimeS: 3600, deviceId: 'kiosk-7' },
    ];
    for (const event of events) expect(validateEvent(event), event.type).toEqual({ ok: true, value: event });
    expect(validateBatch({ events }).ok).toBe(true);
  });

  it('says where a batch is wrong', () => {
    const result = validateBatch({ events: [{ ...base, type: 'inference', model: { ...model, id: 42 }, backend: 'wasm', queueMs: -1, runMs: 1, totalMs: 1, sampleRate: 1 }] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toEqual([
      { path: 'events[0].model.id', message: 'must be a string' },
      { path: 'events[0].queueMs', message: 'must be between 0 and 86400000' },
    ]);
  });

  it('rejects fields that could carry input data or user identifiers', () => {
    const result = validateEvent({ ...base, type: 'error', code: 'x', userId: 'alice', input: [1, 2] });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((issue) => issue.path)).toEqual(['event.userId', 'event.input']);
  });

  it('rejects URLs with query strings, which may hold tokens', () => {
    const result = validateEvent({ ...base, type: 'error', code: 'loader/network', model: { ...model, id: 'https://cdn.example.com/m.onnx?sig=abc' } });
    expect(result.ok).toBe(false);
    expect(validateEvent({ ...base, type: 'error', code: 'loader/network', model: { ...model, id: 'org/model-name' } }).ok).toBe(true);
  });

  it('rejects a missing event id, unknown types, non-integer timestamps and NaN', () => {
    expect(validateEvent({ ...base, eventId: undefined, type: 'error', code: 'x' }).ok).toBe(false);
    expect(validateEvent({ ...base, type: 'click' }).ok).toBe(false);
    expect(validateEvent({ ...base, ts: 1.5, type: 'error', code: 'x' }).ok).toBe(false);
    expect(validateEvent({ ...base, type: 'heartbeat', fps: Number.NaN, p50Ms: 1, memoryBytes: 1, errors: 0, uptimeS: 1 }).ok).toBe(false);
    expect(validateBatch({ events: [], extra: 1 }).ok).toBe(false);
  });
});
