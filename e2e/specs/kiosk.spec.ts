import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js';
import { startCollector, type CollectorServer } from '../collector-server.js';
import { expect, test } from '../fixtures.js';
import { decodeGrayPng, writeGrayY4m } from '../support/fake-camera.js';
import { MODELS_DIR } from '../support/model-server.js';

/** The camera films one gallery image: a kiosk that works shows its label on (nearly) every frame. */
const CAMERA_FILE = join(tmpdir(), `edgeinfer-kiosk-camera-${process.pid}.y4m`);
writeGrayY4m(CAMERA_FILE, [decodeGrayPng(join(MODELS_DIR, 'gallery/ankle-boot-0.png'))], { fps: 10, framesPerImage: 10 });

test.use({
  launchOptions: {
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${CAMERA_FILE}`],
  },
});

interface KioskSnapshot {
  frames: number;
  skipped: number;
  results: number;
  errors: number;
  watchdogRestarts: number;
  engineRestarts: number;
  labelCounts: Record<string, number>;
  restartLog: { reason: string; from?: string }[];
  backend: string | null;
  fromCache: boolean | null;
  label: string;
  fps: number;
  offlineStart: string;
  serviceWorkerControlled: boolean;
}

declare global {
  interface Window {
    /** What demo/kiosk.ts exposes; terminateWorker only with ?testHooks=1. */
    __kiosk?: { snapshot(): unknown; terminateWorker?(): void };
  }
}

const snapshot = (page: Page) => page.evaluate(() => window.__kiosk!.snapshot() as unknown as KioskSnapshot);

async function waitForResults(page: Page, atLeast: number): Promise<KioskSnapshot> {
  await expect.poll(async () => (await snapshot(page)).results, { timeout: 90_000 }).toBeGreaterThanOrEqual(atLeast);
  return snapshot(page);
}

let collector: CollectorServer;
test.beforeEach(async () => {
  collector = await startCollector();
});
test.afterEach(async () => {
  await collector.stop();
});

function kioskUrl(extra: Record<string, string> = {}): string {
  return `/kiosk.html?${new URLSearchParams({ backend: 'wasm', collector: collector.url, key: collector.ingestKey, heartbeat: '5', stall: '6', device: 'e2e-kiosk', testHooks: '1', ...extra })}`;
}

test('runs for two minutes on a camera with steady labels, and heartbeats reach the collector', async ({ page }, testInfo) => {
  // The two-minute run is what the issue asks for; the build project repeats it briefly.
  const runSeconds = Number(process.env.KIOSK_RUN_SECONDS) || (testInfo.project.name === 'dev' ? 120 : 20);
  test.setTimeout((runSeconds + 90) * 1000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(kioskUrl());
  const first = await waitForResults(page, 5);
  expect(first.backend).toBe('ort-wasm');

  const labels: string[] = [];
  const startedAt = Date.now();
  while (Date.now() - startedAt < runSeconds * 1000) {
    await page.waitForTimeout(5000);
    labels.push((await page.locator('#label').textContent()) ?? '');
  }
  const after = await snapshot(page);
  testInfo.annotations.push({ type: 'kiosk', description: JSON.stringify({ runSeconds, ...after, restartLog: undefined }) });
  await page.screenshot({ path: testInfo.outputPath('kiosk.png') });

  // Steady: the label shown every 5 s is the filmed garment, and so is nearly every frame's top-1.
  expect(new Set(labels)).toEqual(new Set(['Ankle boot']));
  expect((after.labelCounts['Ankle boot'] ?? 0) / after.results).toBeGreaterThan(0.95);
  // It kept going at the camera's rate (10 frames/s), and never queued: each frame was run or skipped.
  expect(after.results).toBeGreaterThan(runSeconds * 3);
  expect(after.results + after.skipped).toBeLessThanOrEqual(after.frames);
  expect(after.watchdogRestarts).toBe(0);
  expect(after.errors).toBe(0);

  // The collector's device list shows this kiosk alive, with what its heartbeats said.
  await expect
    .poll(async () => {
      const response = await fetch(`${collector.url}/v1/devices?app=e2e`, { headers: { authorization: 'Bearer e2e-admin' } });
      const body = (await response.json()) as { devices: { deviceId: string; alive: boolean; fps: number; p50Ms: number; uptimeS: number }[] };
      return body.devices.find((device) => device.deviceId === 'e2e-kiosk');
    })
    .toMatchObject({ alive: true, fps: expect.any(Number) });
  const response = await fetch(`${collector.url}/v1/devices?app=e2e`, { headers: { authorization: 'Bearer e2e-admin' } });
  const device = ((await response.json()) as { devices: { deviceId: string; fps: number; p50Ms: number; uptimeS: number }[] }).devices.find((entry) => entry.deviceId === 'e2e-kiosk')!;
  expect(device.fps).toBeGreaterThan(1);
  expect(device.p50Ms).toBeGreaterThan(0);
  expect(device.uptimeS).toBeGreaterThanOrEqual(runSeconds - 10);
  expect(errors).toEqual([]);
});

test('the watchdog restarts the engine when its worker is killed, on another backend, and the kiosk keeps classifying', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(kioskUrl());
  const before = await waitForResults(page, 5);
  expect(before.backend).toBe('ort-wasm');

  await page.evaluate(() => window.__kiosk!.terminateWorker!());
  await expect.poll(async () => (await snapshot(page)).watchdogRestarts, { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
  const restarted = await snapshot(page);
  expect(restarted.restartLog[0]).toMatchObject({ from: 'ort-wasm' });
  expect(restarted.restartLog[0]!.reason).toMatch(/no result for \d+ s/);

  // Recovered: new results on the fallback backend, with the right label.
  const after = await waitForResults(page, restarted.results + 20);
  expect(after.backend).not.toBe('ort-wasm');
  await expect(page.locator('#label')).toHaveText('Ankle boot');
  await expect(page.locator('#message')).toContainText('Recovered on');
});

test('starts and classifies offline after the first visit', async ({ page, context }) => {
  test.setTimeout(120_000);
  await page.goto(kioskUrl());
  await expect(page.locator('body')).toHaveAttribute('data-offline-ready', 'true', { timeout: 60_000 });
  await waitForResults(page, 5);
  expect((await snapshot(page)).serviceWorkerControlled).toBe(true);

  await context.setOffline(true);
  const navigation = await page.reload();
  expect(navigation?.fromServiceWorker()).toBe(true);
  // Not navigator.onLine: Chromium 150 kept it true on the reloaded page under Playwright's offline
  // emulation, and on a kiosk it can be true with no way to the server (a LAN without uplink). What the
  // kiosk shows comes from what it met: the manifest could not be fetched.
  const offline = await waitForResults(page, 10);
  expect(offline.fromCache).toBe(true);
  await expect(page.locator('#label')).toHaveText('Ankle boot');
  await expect(page.locator('#status-network')).toContainText('running from cache');
  await context.setOffline(false);
});
