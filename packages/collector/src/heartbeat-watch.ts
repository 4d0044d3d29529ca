import type { CollectorMetrics } from './metrics.js';
import type { CollectorStorage, DeviceStatus } from './storage.js';
import type { Webhook } from './webhook.js';

const DAY_MS = 86_400_000;

/**
 * When a device counts as silent: past its own heartbeat interval (missed two and a half beats) when
 * its heartbeats say what it is, else past the collector's stale interval.
 */
export function silentAfterMs(device: Pick<DeviceStatus, 'intervalS'>, staleAfterMs: number): number {
  return device.intervalS === undefined ? staleAfterMs : Math.max(1000, device.intervalS * 2500);
}

/**
 * Keeps the device gauges of /metrics current (what the "device silent" alert reads) and tells the
 * webhook when a device goes silent or comes back. The first look only learns the states: a device
 * already silent at start-up is in the gauge, not announced.
 */
export function createHeartbeatWatch(options: { readonly storage: CollectorStorage; readonly metrics: CollectorMetrics; readonly staleAfterMs: number; readonly intervalMs: number; readonly webhook?: Webhook }) {
  const states = new Map<string, boolean>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> = Promise.resolve();
  let first = true;
  let stopped = false;

  const check = async (now = Date.now()) => {
    const devices = await options.storage.devices(now - DAY_MS);
    const counts = new Map<string, { alive: number; silent: number }>();
    for (const device of devices) {
      const alive = now - device.lastSeen <= silentAfterMs(device, options.staleAfterMs);
      const count = counts.get(device.app) ?? { alive: 0, silent: 0 };
      count[alive ? 'alive' : 'silent'] += 1;
      counts.set(device.app, count);
      const key = `${device.app}\u0000${device.deviceId}`;
      const before = states.get(key);
      states.set(key, alive);
      if (!first && before !== undefined && before !== alive) {
        await options.webhook?.send({ event: alive ? 'device-back' : 'device-silent', app: device.app, deviceId: device.deviceId, lastSeen: device.lastSeen, silentAfterMs: silentAfterMs(device, options.staleAfterMs) });
      }
    }
    options.metrics.devices.reset();
    options.metrics.devicesSilent.reset();
    for (const [app, count] of counts) {
      options.metrics.devices.set({ app, state: 'alive' }, count.alive);
      options.metrics.devices.set({ app, state: 'silent' }, count.silent);
      options.metrics.devicesSilent.set({ app }, count.silent);
    }
    first = false;
  };

  const tick = () => {
    if (stopped) return;
    running = check()
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs).unref();
      });
  };

  return {
    check,
    start: () => tick(),
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await running;
    },
  };
}
