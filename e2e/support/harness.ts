import { expect, type Page } from '@playwright/test';

/** Opens the page that exposes the public API as window.edgeinfer. */
export async function openHarness(page: Page): Promise<void> {
  await page.goto('/test-harness.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

export const FASHION = '/models/manifest.json#fashion-mnist';
export const MOBILENET = '/models/manifest.json#mobilenetv2';
