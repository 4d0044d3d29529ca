import { EdgeInferError } from '@edgeinfer/core';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';

export interface TsWindow {
  /** How far back an event's ts may be. Default: the retention period (unbounded when retention is off). */
  readonly pastMs: number;
  /** How far ahead of the collector's clock (device clocks drift). Default 5 minutes. */
  readonly futureMs: number;
}

export const DEFAULT_FUTURE_MS = 5 * 60_000;
/** At most this many offending events are listed in an error body. */
const MAX_LISTED = 50;

/**
 * Rejects a batch holding events dated outside [now - pastMs, now + futureMs]: a far-future
 * heartbeat would show a device alive forever, a ts of 2^53 - 1 is stored but no query range
 * reaches it, and retention would never remove either. The whole batch is refused (batches are
 * atomic) with the offending indexes, so a client can tell which clock is wrong.
 */
export function checkTsWindow(events: readonly TelemetryEvent[], now: number, window: TsWindow): EdgeInferError | null {
  const from = now - window.pastMs;
  const to = now + window.futureMs;
  const offending: { index: number; eventId: string; ts: number }[] = [];
  let count = 0;
  events.forEach((event, index) => {
    if (event.ts >= from && event.ts <= to) return;
    count += 1;
    if (offending.length < MAX_LISTED) offending.push({ index, eventId: event.eventId, ts: event.ts });
  });
  if (count === 0) return null;
  const first = offending[0]!;
  return new EdgeInferError(
    'collector/invalid-timestamp',
    `${count} event(s) have a ts outside the accepted window (${window.pastMs === Infinity ? 'any time' : new Date(from).toISOString()} to ${new Date(to).toISOString()}), first events[${first.index}] with ts ${first.ts}; check the device clock. Nothing in the batch was stored.`,
    { details: { count, events: offending, window: { from: window.pastMs === Infinity ? null : from, to } } },
  );
}
