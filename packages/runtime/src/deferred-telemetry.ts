import type { EngineEventLike, FeedbackInput, LogInput, Telemetry, TelemetryOptions, TelemetryStats } from '@edgeinfer/telemetry';

type EventInput = Parameters<Telemetry['record']>[0];
type Pending =
  | { readonly kind: 'event'; readonly event: EventInput }
  | { readonly kind: 'engine'; readonly event: EngineEventLike }
  | { readonly kind: 'feedback'; readonly input: FeedbackInput }
  | { readonly kind: 'log'; readonly input: LogInput };

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
  let loaded: { client: Telemetry; toTelemetry: (event: EngineEventLike) => EventInput | null; toLog: (event: EngineEventLike) => EventInput | null } | undefined;
  const early: Pending[] = [];
  const recordLoaded = (pending: Pending) => {
    if (pending.kind === 'event') return loaded!.client.record(pending.event);
    if (pending.kind === 'feedback') return loaded!.client.feedback(pending.input);
    if (pending.kind === 'log') return loaded!.client.log(pending.input);
    const event = loaded!.toTelemetry(pending.event);
    if (event) loaded!.client.record(event);
    // A fallback or an error is also a log record with its code, for the dashboard's log view.
    const log = loaded!.toLog(pending.event);
    if (log?.type === 'log') loaded!.client.log(log);
  };
  const ready = import('@edgeinfer/telemetry').then(({ createTelemetry, engineEventToTelemetry, engineEventToLog }) => {
    loaded = { client: createTelemetry(options), toTelemetry: engineEventToTelemetry, toLog: engineEventToLog };
    for (const pending of early.splice(0)) recordLoaded(pending);
    return loaded.client;
  });
  const record = (pending: Pending) => (loaded ? recordLoaded(pending) : early.push(pending));
  const telemetry: Telemetry = {
    record: (event) => void record({ kind: 'event', event }),
    feedback: (input) => void record({ kind: 'feedback', input }),
    log: (input) => void record({ kind: 'log', input }),
    flush: () => ready.then((client) => client.flush()),
    close: () => ready.then((client) => client.close()),
    stats: (): TelemetryStats =>
      loaded?.client.stats() ?? { queued: early.length, sent: 0, dropped: 0, duplicates: 0, sampledOut: 0, invalid: 0, failedAttempts: 0, logsDropped: 0 },
  };
  return { telemetry, recordEngineEvent: (event) => void record({ kind: 'engine', event }) };
}
