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

export interface RejectedEvent {
  readonly index: number;
  readonly eventId: string;
  readonly ts: number;
}

export interface TsWindowSplit {
  /** The events dated inside the window: stored and acknowledged. */
  readonly inside: TelemetryEvent[];
  /** The others (at most 50 listed; `rejectedCount` has them all). */
  readonly rejected: RejectedEvent[];
  readonly rejectedCount: number;
  /** Set when no event of the batch is inside: the whole batch is refused with this typed 400. */
  readonly error: EdgeInferError | null;
}

/**
 * Keeps events dated outside [now - pastMs, now + futureMs] out: a far-future heartbeat would show
 * a device alive forever, a ts of 2^53 - 1 is stored but no query range reaches it, and retention
 * would never remove either. Only those events are refused: the rest of the batch is stored, so a
 * device whose clock is wrong for some events (or a batch spanning a clock correction) loses
 * nothing good. The answer names the refused ones so the client counts them as dropped.
 */
export function splitByTsWindow(events: readonly TelemetryEvent[], now: number, window: TsWindow): TsWindowSplit {
  const from = now - window.pastMs;
  const to = now + window.futureMs;
  const inside: TelemetryEvent[] = [];
  const rejected: RejectedEvent[] = [];
  let rejectedCount = 0;
  events.forEach((event, index) => {
    if (event.ts >= from && event.ts <= to) return void inside.push(event);
    rejectedCount += 1;
    if (rejected.length < MAX_LISTED) rejected.push({ index, eventId: event.eventId, ts: event.ts });
  });
  if (inside.length > 0 || rejectedCount === 0) return { inside, rejected, rejectedCount, error: null };
  const first = rejected[0]!;
  const error = new EdgeInferError(
    'collector/invalid-timestamp',
    `${rejectedCount} event(s) have a ts outside the accepted window (${window.pastMs === Infinity ? 'any time' : new Date(from).toISOString()} to ${new Date(to).toISOString()}), first events[${first.index}] with ts ${first.ts}; check the device clock. No event of the batch was inside, nothing was stored.`,
    { details: { count: rejectedCount, events: rejected, window: { from: window.pastMs === Infinity ? null : from, to } } },
  );
  return { inside, rejected, rejectedCount, error };
}
