/**
 * @edgeinfer/telemetry: the browser client. `createTelemetry` batches, samples and delivers events;
 * `engineEventToTelemetry` turns engine events into telemetry events. The wire format lives in
 * `@edgeinfer/telemetry/schema`, shared with the collector.
 */
export { createTelemetry, LIBRARY_VERSION } from './telemetry-client.js';
export type { FeedbackInput, LogInput, Telemetry, TelemetryOptions, TelemetryStats } from './telemetry-client.js';
export { createIndexedDbEventStore, createMemoryEventStore } from './event-store.js';
export type { EventStore } from './event-store.js';
export { backoffDelayMs } from './backoff.js';
export { engineEventToLog, engineEventToTelemetry } from './engine-events.js';
export type { EngineEventLike } from './engine-events.js';
export type { EventInput, EventType, LogLevel, ModelRef, TelemetryEvent } from './schema.js';
