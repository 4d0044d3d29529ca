import { test as base, expect, type Page } from '@playwright/test';

export interface PageCapabilities {
  readonly webgpu: { readonly available: boolean; readonly vendor?: string; readonly architecture?: string; readonly description?: string };
  readonly webgl2: boolean;
  readonly wasmSimd: boolean;
  readonly crossOriginIsolated: boolean;
}

/** What the browser under test really offers, read from a page of the app's origin. */
export async function readCapabilities(page: Page): Promise<PageCapabilities> {
  return page.evaluate(async () => {
    const adapter = 'gpu' in navigator ? await navigator.gpu.requestAdapter() : null;
    const simdProbe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
    return {
      webgpu: adapter
        ? { available: true, vendor: adapter.info.vendor, architecture: adapter.info.architecture, description: adapter.info.description }
        : { available: false },
      webgl2: Boolean(document.createElement('canvas').getContext('webgl2')),
      wasmSimd: WebAssembly.validate(simdProbe),
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
    };
  });
}

export const test = base.extend<{ capabilities: PageCapabilities; requireWebGpu: () => Promise<void> }>({
  capabilities: async ({ page }, use) => {
    await page.goto('/models/gallery/index.json');
    await use(await readCapabilities(page));
  },
  /** A spec that needs WebGPU fails loudly when the adapter is missing; it never skips. */
  requireWebGpu: async ({ capabilities }, use) => {
    await use(async () => {
      expect(capabilities.webgpu.available, 'This spec needs a WebGPU adapter; launch Chromium with the flags in e2e/chromium.ts.').toBe(true);
    });
  },
});

export { expect };
