// Time to first result (issue 16): the onnxruntime-web build that matches the backend, pre-warming,
// and the direct run path between page and worker. Requests are read from the browser's own network
// log (the engine's worker included), never inferred.
import type { Page, Request } from '@playwright/test';
import type {} from '../../demo/test-harness.js';
import { expect, test } from '../fixtures.js';
import { FASHION, openHarness } from '../support/harness.js';

const ORT_WASM = /ort-wasm-simd-threaded(\.[a-z]+)?(-[\w-]+)?\.wasm(\?|$)/;

/** Which onnxruntime-web .wasm builds the page and its workers requested: 'wasm', 'jspi', 'asyncify', 'jsep'. */
function ortBuildsRequested(page: Page): { builds: Set<string>; requests: Request[] } {
  const builds = new Set<string>();
  const requests: Request[] = [];
  page.context().on('request', (request) => {
    const url = request.url();
    const match = ORT_WASM.exec(url.split('/').pop() ?? '');
    if (!match) return;
    requests.push(request);
    builds.add(match[1]?.slice(1) ?? 'wasm');
  });
  return { builds, requests };
}

test.describe('start-up: the right onnxruntime-web build, warmed early', () => {
  test('a model on wasm downloads only the wasm-only build (no WebGPU, no JSEP build)', async ({ page }) => {
    const seen = ortBuildsRequested(page);
    await openHarness(page);
    const backend = await page.evaluate(async (ref) => {
      const engine = window.edgeinfer.createEngine();
      const model = await engine.load(ref, { backends: ['ort-wasm'] });
      await model.run({ input: window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]) });
      await engine.dispose();
      return model.info.backend;
    }, FASHION);
    expect(backend).toBe('ort-wasm');
    expect([...seen.builds]).toEqual(['wasm']);
  });

  test('WebGPU forced downloads a WebGPU build only (JSPI where the browser has it)', async ({ page, requireWebGpu }) => {
    await requireWebGpu();
    const seen = ortBuildsRequested(page);
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const engine = window.edgeinfer.createEngine();
      const model = await engine.load(ref, { backends: ['ort-webgpu'] });
      await engine.dispose();
      return { backend: model.info.backend, jspi: typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function' };
    }, FASHION);
    expect(outcome.backend).toBe('ort-webgpu');
    expect([...seen.builds]).toEqual([outcome.jspi ? 'jspi' : 'asyncify']);
  });

  test("createEngine({ warm: ['ort-wasm'] }) fetches and instantiates the wasm build before any load", async ({ page }) => {
    const seen = ortBuildsRequested(page);
    await openHarness(page);
    await page.evaluate(() => {
      (window as unknown as { warmEngine: unknown }).warmEngine = window.edgeinfer.createEngine({ warm: ['ort-wasm'] });
    });
    // No load has been asked for: the worker fetches the wasm-only build on its own.
    await expect.poll(() => seen.requests.length, { timeout: 60_000 }).toBeGreaterThan(0);
    const response = await seen.requests[0]!.response();
    expect(response?.headers()['content-type']).toBe('application/wasm');
    const result = await page.evaluate(async (ref) => {
      const engine = (window as unknown as { warmEngine: ReturnType<typeof window.edgeinfer.createEngine> }).warmEngine;
      const model = await engine.load(ref, { backends: ['ort-wasm'] });
      const output = await model.run({ input: window.edgeinfer.createTensor('float32', new Float32Array(784).fill(0.5), [1, 1, 28, 28]) });
      await engine.dispose();
      return { backend: output.backend, dims: output.output.dims };
    }, FASHION);
    expect(result).toEqual({ backend: 'ort-wasm', dims: [1, 10] });
    // Warmed once, loaded once: the build is fetched a single time.
    expect([...seen.builds]).toEqual(['wasm']);
    expect(seen.requests.length).toBe(1);
  });

  test('without warm, creating an engine downloads no onnxruntime-web wasm', async ({ page }) => {
    const seen = ortBuildsRequested(page);
    await openHarness(page);
    await page.evaluate(async () => {
      const engine = window.edgeinfer.createEngine();
      // probe() answers from the worker: it has started and run its start-up work.
      await engine.probe();
      await engine.dispose();
    });
    expect(seen.requests).toHaveLength(0);
  });
});

test.describe('the direct run path (page <-> worker, beside comlink)', () => {
  test('outputs match an in-page engine; transfer moves the input, the default copies it', async ({ page }) => {
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const { createEngine, createTensor } = window.edgeinfer;
      const inputs = Array.from({ length: 12 }, (_, index) => Float32Array.from({ length: 784 }, (_, i) => ((i * 7 + index * 13) % 255) / 255));
      const worker = await createEngine().load(ref, { backends: ['ort-wasm'] });
      const inPage = await createEngine({ worker: false }).load(ref, { backends: ['ort-wasm'] });
      // Queued all at once: each answer must come back to its own call.
      const fromWorker = await Promise.all(inputs.map((data) => worker.run({ input: createTensor('float32', data, [1, 1, 28, 28]) })));
      const reference: Awaited<ReturnType<typeof inPage.run>>[] = [];
      for (const data of inputs) reference.push(await inPage.run({ input: createTensor('float32', data, [1, 1, 28, 28]) }));
      const maxDifference = Math.max(
        ...fromWorker.map((result, index) => Math.max(...Array.from(result.output.data as Float32Array, (value, i) => Math.abs(value - (reference[index]!.output.data as Float32Array)[i]!)))),
      );
      const copied = new Float32Array(784).fill(0.25);
      await worker.run({ input: createTensor('float32', copied, [1, 1, 28, 28]) });
      const moved = new Float32Array(784).fill(0.25);
      await worker.run({ input: createTensor('float32', moved, [1, 1, 28, 28]) }, { transfer: true });
      return { maxDifference, copiedLength: copied.length, movedLength: moved.length, outputType: fromWorker[0]!.output.data.constructor.name };
    }, FASHION);
    expect(outcome.maxDifference).toBe(0);
    expect(outcome.copiedLength).toBe(784);
    expect(outcome.movedLength).toBe(0); // detached: it was transferred, not copied
    expect(outcome.outputType).toBe('Float32Array');
  });

  test('a run beside a load in progress (the worker is not idle) still answers, and errors keep their codes', async ({ page }) => {
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const { createEngine, createTensor } = window.edgeinfer;
      const engine = createEngine();
      const model = await engine.load(ref, { backends: ['ort-wasm'] });
      const secondLoad = engine.load('/models/manifest.json#mobilenetv2', { backends: ['ort-wasm'], variants: ['int8'] });
      const during = await model.run({ input: createTensor('float32', new Float32Array(784), [1, 1, 28, 28]) });
      const wrongShape = await model.run({ input: createTensor('float32', new Float32Array(10), [1, 10]) }).then(
        () => 'resolved',
        (error: { code?: string }) => error.code,
      );
      await secondLoad;
      await engine.dispose();
      return { dims: during.output.dims, wrongShape };
    }, FASHION);
    expect(outcome).toEqual({ dims: [1, 10], wrongShape: 'engine/input-shape' });
  });
});
