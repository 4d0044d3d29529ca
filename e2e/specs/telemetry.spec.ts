import { expect, test, type Page } from '@playwright/test';
import { startCollector, type CollectorServer } from '../collector-server.js';

/** What demo/telemetry-test.ts exposes. */
declare global {
  interface Window {
    __telemetry: {
      telemetry: { flush(): Promise<void>; stats(): Record<string, number> };
      recordInferences(count: number): void;
      storedCount(): Promise<number>;
    };
  }
}

let collector: CollectorServer;

test.beforeEach(async () => {
  collector = await startCollector();
});

test.afterEach(async () => {
  await collector.stop();
});

async function openTestPage(page: Page, options: { flushIntervalMs?: number } = {}) {
  const params = new URLSearchParams({ endpoint: collector.url, key: collector.ingestKey, batchSize: '1000', flushIntervalMs: String(options.flushIntervalMs ?? 600_000) });
  await page.goto(`/telemetry-test.html?${params}`);
  await expect(page.locator('body[data-ready="true"]')).toBeAttached();
}

/** Closes the page the way a user does (pagehide runs) and waits until it is really gone. */
async function closePage(page: Page) {
  const closed = page.waitForEvent('close');
  await page.close({ runBeforeUnload: true });
  await closed;
}

test('events reach the collector when the page is hidden and when it is closed, each once', async ({ page, context }) => {
  await openTestPage(page);
  const ingest: string[] = [];
  page.on('request', (request) => {
    if (request.url().startsWith(`${collector.url}/v1/events`)) ingest.push(request.method());
  });
  await page.evaluate(() => window.__telemetry.recordInferences(20));
  expect(await collector.count()).toBe(0);

  // A headless page cannot be really hidden, so the spec sets what the browser would and fires the event.
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await expect.poll(() => collector.count()).toBe(20);
  expect(await page.evaluate(() => window.__telemetry.telemetry.stats())).toMatchObject({ sent: 20, queued: 0 });

  // Closing the page fires a real pagehide; only sendBeacon outlives it.
  await page.evaluate(() => window.__telemetry.recordInferences(15));
  await closePage(page);
  await expect.poll(() => collector.count()).toBe(35);
  expect(ingest.length).toBeGreaterThanOrEqual(1);

  // Nothing is left over in IndexedDB to be sent again by the next page.
  const next = await context.newPage();
  await openTestPage(next);
  expect(await next.evaluate(() => window.__telemetry.storedCount())).toBe(0);
  await next.waitForTimeout(500);
  expect(await collector.count()).toBe(35);
});

test('the demo page reports its inferences: once the page is hidden, /v1/stats counts each one', async ({ page }) => {
  await page.goto(`/?backend=wasm&collector=${encodeURIComponent(collector.url)}&key=${collector.ingestKey}`);
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
  const samples = page.getByRole('button', { name: /^Sample: / });
  const runs = 7;
  for (let run = 1; run <= runs; run += 1) {
    await samples.nth(run % (await samples.count())).click();
    await expect(page.locator('body')).toHaveAttribute('data-classified', String(run));
  }
  const stats = async (type: string) => {
    const response = await fetch(`${collector.url}/v1/stats?from=0&app=e2e&type=${type}`, { headers: { authorization: 'Bearer e2e-admin' } });
    return ((await response.json()) as { groups: { count: number; backend: string; model: string }[] }).groups;
  };
  // Hiding the page sends what is queued (the first spec shows it with a flush interval of minutes).
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await expect.poll(async () => (await stats('inference')).reduce((sum, group) => sum + group.count, 0)).toBe(runs);
  expect(await stats('inference')).toEqual([expect.objectContaining({ model: 'fashion-mnist', backend: 'ort-wasm', count: runs })]);
  expect((await stats('load')).reduce((sum, group) => sum + group.count, 0)).toBe(1);
});

test('events recorded offline wait in IndexedDB and arrive exactly once when back online', async ({ page, context }) => {
  await openTestPage(page);
  await context.setOffline(true);
  await page.evaluate(async () => {
    window.__telemetry.recordInferences(30);
    await window.__telemetry.telemetry.flush();
  });
  await expect.poll(() => page.evaluate(() => window.__telemetry.storedCount())).toBe(30);
  expect(await page.evaluate(() => window.__telemetry.telemetry.stats())).toMatchObject({ queued: 30, sent: 0, dropped: 0 });
  expect(await collector.count()).toBe(0);

  // Back online: the client's online listener flushes the queue.
  await context.setOffline(false);
  await expect.poll(() => collector.count()).toBe(30);
  await expect.poll(() => page.evaluate(() => window.__telemetry.storedCount())).toBe(0);

  // Offline again, and the page is closed before the network returns: the next page delivers them.
  await context.setOffline(true);
  await page.evaluate(async () => {
    window.__telemetry.recordInferences(12);
    await window.__telemetry.telemetry.flush();
  });
  await expect.poll(() => page.evaluate(() => window.__telemetry.storedCount())).toBe(12);
  const next = await context.newPage();
  await closePage(page);
  await context.setOffline(false);
  await openTestPage(next);
  await expect.poll(() => collector.count()).toBe(42);
  await expect.poll(() => next.evaluate(() => window.__telemetry.storedCount())).toBe(0);
  expect(await collector.count()).toBe(42);
});
