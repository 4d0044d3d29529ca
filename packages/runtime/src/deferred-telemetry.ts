import type { EngineEventLike, Telemetry, TelemetryOptions, TelemetryStats } from '@edgeinfer/telemetry';

type EventInput = Parameters<Telemetry['record']>[0];
type Pending = { readonly kind: 'event'; readonly event: EventInput } | { readonly kind: 'engine'; readonly event: EngineEventLike };

export interface DeferredTelemetry {
  readonly telemetry: Telemetry;
  /** Maps an engine event to a telemetry event (once the client has loaded) and records it. */
  recordEngineEvent(event: EngineEventLike): void;
}

/**
 * The telemetry client is imported only when an app asks for telemetry: it is a third of the
 * page-side code. record() stays synchronous; what is recorded before the client has loaded waits,
 * in order, and is recorded as soon as it has.
 */
export function createDeferredTelemetry(options: TelemetryOptions): DeferredTelemetry {
  let loaded: { client: Telemetry; toTelemetry: (event: EngineEventLike) => EventInput | null } | undefined;
  const early: Pending[] = [];
  const recordLoaded = (pending: Pending) => {
    if (pending.kind === 'event') return loaded!.client.record(pending.event);
    const event = loaded!.toTelemetry(pending.event);
    if (event) loaded!.client.record(event);
  };
  const ready = import('@edgeinfer/telemetry').then(({ createTelemetry, engineEventToTelemetry }) => {
    loaded = { client: createTelemetry(options), toTelemetry: engineEventToTelemetry };
    for (const pending of early.splice(0)) recordLoaded(pending);
    return loaded.client;
  });
  const record = (pending: Pending) => (loaded ? recordLoaded(pending) : early.push(pending));
  const telemetry: Telemetry = {
    record: (event) => void record({ kind: 'event', event }),
    flush: () => ready.then((client) => client.flush()),
    close: () => ready.then((client) => client.close()),
    stats: (): TelemetryStats =>
      loaded?.client.stats() ?? { queued: early.length, sent: 0, dropped: 0, duplicates: 0, sampledOut: 0, invalid: 0, failedAttempts: 0 },
  };
  return { telemetry, recordEngineEvent: (event) => void record({ kind: 'engine', event }) };
}
