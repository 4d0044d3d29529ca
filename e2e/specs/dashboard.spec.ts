import { randomUUID } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { startCollector, type CollectorServer } from '../collector-server.js';

declare global {
  interface Window {
    Chart: { getChart(id: string): { data: { datasets: { label: string; data: { x: number; y: number }[] }[] } } | undefined };
    xssRan?: boolean;
  }
}

const HOSTILE_MODEL = '<img src=x onerror="window.xssRan=true">';

let collector: CollectorServer;

test.beforeEach(async () => {
  collector = await startCollector();
});

test.afterEach(async () => {
  await collector.stop();
});

/** Events from a fleet over the last ten minutes: stable and canary versions, errors, a fallback, a hostile model name, a kiosk's heartbeat. */
function fleetEvents(now: number) {
  const common = (ts: number) => ({ eventId: randomUUID(), ts, sessionId: 'fleet-session', libraryVersion: '0.1.0', backend: 'wasm' });
  const events: Record<string, unknown>[] = [];
  for (let index = 0; index < 200; index += 1) {
    const ts = now - 600_000 + index * 3000;
    const canary = index % 10 === 0;
    const model = { id: 'fashion-mnist', version: canary ? '1.1.0' : '1.0.0', variant: 'int8' };
    events.push({ ...common(ts), type: 'inference', model, queueMs: 0.1, runMs: canary ? 4 : 2, totalMs: canary ? 4.1 : 2.1, sampleRate: 1 });
    if (index % 25 === 0) events.push({ ...common(ts), type: 'error', model, code: 'engine/backend-failed' });
  }
  events.push({ ...common(now - 5000), type: 'fallback', model: { id: 'fashion-mnist', version: '1.0.0', variant: 'int8' }, from: 'webgpu', to: 'wasm', code: 'engine/backend-unavailable' });
  events.push({ ...common(now - 4000), type: 'inference', model: { id: HOSTILE_MODEL, version: '1', variant: 'fp32' }, queueMs: 0, runMs: 1, totalMs: 1, sampleRate: 1 });
  events.push({ ...common(now - 3000), type: 'heartbeat', fps: 12.5, p50Ms: 2.2, memoryBytes: 50_000_000, errors: 0, uptimeS: 600, deviceId: 'kiosk-7' });
  return events;
}

test('the dashboard charts canary beside stable, lists kiosks, and shows a hostile model name as text only', async ({ page }) => {
  const events = fleetEvents(Date.now());
  for (let index = 0; index < events.length; index += 100) {
    const response = await fetch(`${collector.url}/v1/events?key=${collector.ingestKey}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: events.slice(index, index + 100) }) });
    expect(response.status).toBe(200);
  }
  let dialogs = 0;
  page.on('dialog', (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });

  await page.goto(`${collector.url}/`);
  await page.locator('#token').fill('e2e-admin');
  await page.getByRole('button', { name: 'Refresh' }).click();
  await expect(page.locator('#status')).toContainText('Updated');

  const groups = page.locator('#groups tbody tr');
  await expect(groups.filter({ hasText: '1.0.0' })).toHaveCount(1);
  await expect(groups.filter({ hasText: '1.1.0' })).toHaveCount(1);
  // The hostile name is a cell's text, not markup, and its handler never ran.
  await expect(page.locator('#groups td', { hasText: HOSTILE_MODEL })).toHaveCount(1);
  await expect(page.locator('img')).toHaveCount(0);
  expect(await page.evaluate(() => window.xssRan)).toBeUndefined();
  expect(dialogs).toBe(0);

  // Canary and stable are separate lines in the same latency chart, with the latencies that were sent.
  const p50Series = await page.evaluate(() => window.Chart.getChart('p50-chart')!.data.datasets.map((set) => ({ label: set.label, values: [...new Set(set.data.map((point) => point.y))] })));
  expect(p50Series.find((series) => series.label.startsWith('fashion-mnist@1.0.0'))?.values).toEqual([2.1]);
  expect(p50Series.find((series) => series.label.startsWith('fashion-mnist@1.1.0'))?.values).toEqual([4.1]);
  const rateLabels = await page.evaluate(() => window.Chart.getChart('rate-chart')!.data.datasets.map((set) => set.label));
  expect(rateLabels.some((label) => label.startsWith('errors %'))).toBe(true);
  expect(rateLabels.some((label) => label.startsWith('fallbacks %'))).toBe(true);

  const kiosk = page.locator('#devices tbody tr', { hasText: 'kiosk-7' });
  await expect(kiosk).toContainText('alive');
  await expect(kiosk).toContainText('12.5');
});
