// Opens a fixture page in Debian's Chromium and reports what a user would see: the page's result
// line, console errors, failed responses and every URL it fetched (page and workers).
import { readFileSync } from 'node:fs';
import { chromium } from '@playwright/test';

// The same flags as the Playwright suites (e2e/chromium.ts).
const CHROMIUM_ARGS = JSON.parse(readFileSync(new URL('../chromium-flags.json', import.meta.url), 'utf8'));

export async function visit(url, { timeoutMs = 120_000 } = {}) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const consoleErrors = [];
    const badResponses = [];
    const urls = [];
    const workers = [];
    page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
    page.on('pageerror', (error) => consoleErrors.push(error.message));
    page.on('worker', (worker) => workers.push(worker.url()));
    context.on('request', (request) => urls.push(request.url()));
    context.on('response', (response) => response.status() >= 400 && badResponses.push(`${response.status()} ${response.url()}`));
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('#result')?.textContent !== 'loading', null, { timeout: timeoutMs });
    const result = (await page.textContent('#result')) ?? '';
    return { result, consoleErrors, badResponses, urls, workers };
  } finally {
    await browser.close();
  }
}
