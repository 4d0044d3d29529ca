import { expect, type Page } from '@playwright/test';

/** Opens the page that exposes the public API as window.edgeinfer. */
export async function openHarness(page: Page): Promise<void> {
  await page.goto('/test-harness.html');
  await expect(page.locator('body')).toHaveAttribute('data-ready', 'true');
}

/** Gives this browser profile a fixed install id (the loader's `meta:install-id`), as if it had been installed with it. */
export async function setInstallId(page: Page, installId: string): Promise<void> {
  await page.evaluate(
    (installId) =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('edgeinfer-models');
        open.onupgradeneeded = () => open.result.createObjectStore('files');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const tx = open.result.transaction('files', 'readwrite');
          tx.objectStore('files').put(installId, 'meta:install-id');
          tx.oncomplete = () => {
            open.result.close();
            resolve();
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    installId,
  );
}

export const FASHION = '/models/manifest.json#fashion-mnist';
export const MOBILENET = '/models/manifest.json#mobilenetv2';
