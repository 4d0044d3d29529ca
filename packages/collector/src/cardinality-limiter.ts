import { EdgeInferError } from '@edgeinfer/core';
import type { TelemetryEvent } from '@edgeinfer/telemetry/schema';

/**
 * Ingest keys ship in page code, so anyone can post; without a limit 50,000 junk model ids make
 * 50,000 groups for every stats query and dashboard. Each app may use this many distinct values
 * within a sliding window; a value unseen for a whole window frees its place.
 */
export interface CardinalityLimits {
  /** Distinct model ids per app. Default 100. */
  readonly maxModels: number;
  /** Distinct version+variant pairs per model. Default 20. */
  readonly maxVersionsPerModel: number;
  /** Distinct devices (heartbeat deviceId, else its session) per app. Default 10,000. */
  readonly maxDevices: number;
  /** Default 24 hours, the dashboard's longest range. */
  readonly windowMs: number;
}

export const DEFAULT_CARDINALITY_LIMITS: CardinalityLimits = { maxModels: 100, maxVersionsPerModel: 20, maxDevices: 10_000, windowMs: 86_400_000 };

export type CardinalityKind = 'models' | 'versions' | 'devices';
type Kind = CardinalityKind;

/** One distinct value a limit counts: a model id (scope ''), a version+variant of model `scope`, a device (scope ''). */
export interface CardinalityValue {
  readonly kind: CardinalityKind;
  readonly scope: string;
  readonly value: string;
}

/** Why a database shared by many collectors refused values: the limit, and when its oldest value was last seen. */
export interface CardinalityRefusal {
  readonly kind: CardinalityKind;
  readonly scope: string;
  readonly oldestSeen: number;
  /** The refused values the database did not hold yet. */
  readonly values: readonly string[];
}

/** Longest a value is trusted as admitted by the shared database before it is confirmed (and its last-seen refreshed) again. */
export const sharedRefreshMs = (limits: CardinalityLimits) => Math.max(1, Math.min(60_000, Math.floor(limits.windowMs / 10)));

/** Last-seen times in insertion order, refreshed by re-insertion: the oldest is always first. */
class SlidingSet {
  private readonly seen = new Map<string, number>();
  get size(): number {
    return this.seen.size;
  }
  has(value: string): boolean {
    return this.seen.has(value);
  }
  touch(value: string, now: number): void {
    this.seen.delete(value);
    this.seen.set(value, now);
  }
  /** Drops values not seen since `before`; returns them. */
  expire(before: number): string[] {
    const gone: string[] = [];
    for (const [value, at] of this.seen) {
      if (at >= before) break;
      this.seen.delete(value);
      gone.push(value);
    }
    return gone;
  }
  oldest(): number | undefined {
    return this.seen.values().next().value;
  }
}

interface AppState {
  readonly models: SlidingSet;
  readonly versions: Map<string, SlidingSet>;
  readonly devices: SlidingSet;
}

const deviceOf = (event: TelemetryEvent) => (event.type === 'heartbeat' ? (event.deviceId ?? event.sessionId) : null);
const versionOf = (event: TelemetryEvent) => (event.model === undefined ? null : `${event.model.version}\u0000${event.model.variant}`);

// PostgreSQL text cannot hold NUL: the shared store names a version+variant as JSON.
const storedVersionOf = (event: TelemetryEvent) => (event.model === undefined ? null : JSON.stringify([event.model.version, event.model.variant]));

/** The distinct values a batch counts against the limits. */
export function cardinalityValues(events: readonly TelemetryEvent[]): CardinalityValue[] {
  const values = new Map<string, CardinalityValue>();
  const add = (value: CardinalityValue) => values.set(`${value.kind}\u0000${value.scope}\u0000${value.value}`, value);
  for (const event of events) {
    if (event.model !== undefined) {
      add({ kind: 'models', scope: '', value: event.model.id });
      add({ kind: 'versions', scope: event.model.id, value: storedVersionOf(event)! });
    }
    const device = deviceOf(event);
    if (device !== null) add({ kind: 'devices', scope: '', value: device });
  }
  return [...values.values()];
}

const valueKey = (value: CardinalityValue) => `${value.kind}\u0000${value.scope}\u0000${value.value}`;

export function createCardinalityLimiter(limits: CardinalityLimits, onModelExpired: (app: string, model: string) => void = () => undefined) {
  const apps = new Map<string, AppState>();
  // Values the shared database admitted (or refreshed) within sharedRefreshMs: not asked about again.
  const confirmed = new Map<string, SlidingSet>();
  const refreshMs = sharedRefreshMs(limits);
  const stateOf = (app: string) => {
    let state = apps.get(app);
    if (state === undefined) {
      state = { models: new SlidingSet(), versions: new Map(), devices: new SlidingSet() };
      apps.set(app, state);
    }
    return state;
  };
  const expire = (app: string, state: AppState, now: number) => {
    const before = now - limits.windowMs;
    for (const model of state.models.expire(before)) {
      state.versions.delete(model);
      onModelExpired(app, model);
    }
    for (const versions of state.versions.values()) versions.expire(before);
    state.devices.expire(before);
  };

  const refuse = (app: string, kind: Kind, max: number, indexes: number[], set: SlidingSet, now: number, model?: string) => {
    const oldest = set.oldest() ?? now;
    const retryAfterS = Math.max(1, Math.ceil((oldest + limits.windowMs - now) / 1000));
    const what = kind === 'versions' ? `versions of model "${model}"` : kind;
    return new EdgeInferError(
      'collector/cardinality-limit',
      `App "${app}" already has ${max} distinct ${what} in the last ${Math.round(limits.windowMs / 60_000)} min (limit "${kind}"); events[${indexes[0]}] would add another. Nothing in the batch was stored.`,
      { details: { app, limit: kind, max, windowMs: limits.windowMs, events: indexes.slice(0, 50), retryAfterS, ...(model === undefined ? {} : { model }) } },
    );
  };

  return {
    /** Null when every event fits the limits, else the first limit the batch would exceed. Records nothing. */
    check(app: string, events: readonly TelemetryEvent[], now: number): EdgeInferError | null {
      const state = stateOf(app);
      expire(app, state, now);
      const newModels = new Map<string, number[]>();
      const newVersions = new Map<string, Map<string, number[]>>();
      const newDevices = new Map<string, number[]>();
      const add = (map: Map<string, number[]>, key: string, index: number) => {
        const indexes = map.get(key);
        if (indexes === undefined) map.set(key, [index]);
        else indexes.push(index);
      };
      events.forEach((event, index) => {
        const model = event.model?.id;
        if (model !== undefined) {
          if (!state.models.has(model)) add(newModels, model, index);
          const version = versionOf(event)!;
          if (!state.versions.get(model)?.has(version)) {
            if (!newVersions.has(model)) newVersions.set(model, new Map());
            add(newVersions.get(model)!, version, index);
          }
        }
        const device = deviceOf(event);
        if (device !== null && !state.devices.has(device)) add(newDevices, device, index);
      });
      if (state.models.size + newModels.size > limits.maxModels) return refuse(app, 'models', limits.maxModels, [...newModels.values()].flat().sort((a, b) => a - b), state.models, now);
      for (const [model, versions] of newVersions) {
        const known = state.versions.get(model);
        if ((known?.size ?? 0) + versions.size > limits.maxVersionsPerModel) {
          return refuse(app, 'versions', limits.maxVersionsPerModel, [...versions.values()].flat().sort((a, b) => a - b), known ?? new SlidingSet(), now, model);
        }
      }
      if (state.devices.size + newDevices.size > limits.maxDevices) return refuse(app, 'devices', limits.maxDevices, [...newDevices.values()].flat().sort((a, b) => a - b), state.devices, now);
      return null;
    },
    /** Records a stored batch's values as seen now. */
    admit(app: string, events: readonly TelemetryEvent[], now: number): void {
      const state = stateOf(app);
      for (const event of events) {
        const model = event.model?.id;
        if (model !== undefined) {
          state.models.touch(model, now);
          let versions = state.versions.get(model);
          if (versions === undefined) {
            versions = new SlidingSet();
            state.versions.set(model, versions);
          }
          versions.touch(versionOf(event)!, now);
        }
        const device = deviceOf(event);
        if (device !== null) state.devices.touch(device, now);
      }
    },
    /** The batch's values the shared database has not confirmed within the refresh period (ask it before storing). */
    unconfirmed(app: string, events: readonly TelemetryEvent[], now: number): CardinalityValue[] {
      const set = confirmed.get(app);
      set?.expire(now - refreshMs);
      return cardinalityValues(events).filter((value) => !set?.has(valueKey(value)));
    },
    /** Records values the shared database admitted now. */
    confirm(app: string, values: readonly CardinalityValue[], now: number): void {
      let set = confirmed.get(app);
      if (set === undefined) {
        set = new SlidingSet();
        confirmed.set(app, set);
      }
      for (const value of values) set.touch(valueKey(value), now);
    },
    /** The typed 429 for a refusal by the shared database, naming the batch's events that carried the refused values. */
    sharedRefusal(app: string, events: readonly TelemetryEvent[], refusal: CardinalityRefusal, now: number): EdgeInferError {
      const refused = new Set(refusal.values);
      const indexes: number[] = [];
      events.forEach((event, index) => {
        const value = refusal.kind === 'models' ? event.model?.id : refusal.kind === 'devices' ? deviceOf(event) : event.model?.id === refusal.scope ? storedVersionOf(event) : null;
        if (value !== null && value !== undefined && refused.has(value)) indexes.push(index);
      });
      const max = refusal.kind === 'models' ? limits.maxModels : refusal.kind === 'versions' ? limits.maxVersionsPerModel : limits.maxDevices;
      const oldest = new SlidingSet();
      oldest.touch('', refusal.oldestSeen);
      return refuse(app, refusal.kind, max, indexes, oldest, now, refusal.kind === 'versions' ? refusal.scope : undefined);
    },
    /** Whether a model currently holds a place for this app (what /metrics labels are kept for). */
    admitted(app: string, model: string): boolean {
      return apps.get(app)?.models.has(model) ?? false;
    },
  };
}
