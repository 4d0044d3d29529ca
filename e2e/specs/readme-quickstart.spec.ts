import { readFileSync } from 'node:fs';
import { expect, test } from '../fixtures.js';

test('the README quick start runs as written and prints a prediction', async ({ page }) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block, 'the README has a ts code block').toBeTruthy();
  expect(readFileSync(new URL('../../demo/readme-quickstart.ts', import.meta.url), 'utf8'), 'demo/readme-quickstart.ts is the README block').toBe(block);

  const logs: string[] = [];
  page.on('console', (message) => logs.push(message.text()));
  await page.goto('/quickstart.html');
  await expect(page.locator('body')).toHaveAttribute('data-quickstart', 'done');
  expect(logs.some((line) => line.startsWith('ready'))).toBe(true);
  expect(logs.find((line) => /^(ort|tfjs)-\w+ /.test(line)), 'the backend line').toMatch(/priority/);
  expect(logs.at(-1)).toMatch(/^Ankle boot 0\.\d+/);
});
