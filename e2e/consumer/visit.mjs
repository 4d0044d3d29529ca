// Opens a fixture page in Debian's Chromium and reports what a user would see: the page's result
// line, console errors, failed responses and every URL it fetched (page and workers).
import { chromium } from '@playwright/test';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

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
