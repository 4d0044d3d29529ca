import type {} from '../../demo/test-harness.js';
import type { Engine, Model } from '@edgeinfer/runtime';
import { expect, test } from '../fixtures.js';
import { FASHION, MOBILENET, openHarness } from '../support/harness.js';

test.describe('engine fault handling', () => {
  test('a lost WebGPU device mid-session: the request still answers, from wasm, and info.fallbacks says why', async ({ page, requireWebGpu }) => {
    await requireWebGpu();
    await openHarness(page);
    await page.evaluate(async (ref) => {
      const engine = window.edgeinfer.createEngine();
      const model = await engine.load(ref, { backends: ['ort-webgpu', 'ort-wasm'] });
      (window as unknown as { model: typeof model }).model = model;
      return model.info.backend;
    }, FASHION).then((backend) => expect(backend).toBe('ort-webgpu'));

    const worker = page.workers().find((candidate) => candidate.url().includes('worker'))!;
    expect(worker, 'the engine worker').toBeTruthy();
    await worker.evaluate(() => (globalThis as { __edgeinferGpuDevice?: GPUDevice }).__edgeinferGpuDevice!.destroy());

    const outcome = await page.evaluate(async () => {
      const model = (window as unknown as { model: Model }).model;
      const input = window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]);
      const result = await model.run({ input });
      return { backend: result.backend, values: result.output.data.length, info: model.info };
    });
    expect(outcome.backend).toBe('ort-wasm');
    expect(outcome.values).toBe(10);
    expect(outcome.info.backend).toBe('ort-wasm');
    expect(outcome.info.fallbacks).toEqual([expect.objectContaining({ backend: 'ort-webgpu', code: 'engine/backend-failed', at: 'run' })]);
    expect(outcome.info.fallbacks[0]!.message).toMatch(/lost|destroyed/i);
  });

  test('a backend whose initialisation fails: the next backend serves, and the failure is recorded', async ({ page, requireWebGpu }) => {
    await requireWebGpu();
    await openHarness(page);
    await page.evaluate(() => {
      (window as unknown as { engine: unknown }).engine = window.edgeinfer.createEngine();
      return (window as unknown as { engine: Engine }).engine.probe();
    });
    // Break WebGPU inside the worker after the probe: the session's own adapter request now fails.
    const worker = page.workers().find((candidate) => candidate.url().includes('worker'))!;
    await worker.evaluate(() => {
      Object.defineProperty(navigator.gpu, 'requestAdapter', { value: async () => null });
    });
    const info = await page.evaluate(async (ref) => {
      const engine = (window as unknown as { engine: Engine }).engine;
      const model = await engine.load(ref, { backends: ['ort-webgpu', 'ort-wasm'] });
      const input = window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]);
      await model.run({ input });
      return model.info;
    }, FASHION);
    expect(info.backend).toBe('ort-wasm');
    expect(info.fallbacks).toEqual([expect.objectContaining({ backend: 'ort-webgpu', at: 'load', code: 'engine/backend-unavailable' })]);
  });
});

test.describe('engine requests', () => {
  test('malformed input gets a typed error, the worker stays alive and the next good request works', async ({ page }) => {
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const { createEngine, createTensor } = window.edgeinfer;
      const engine = createEngine();
      const model = await engine.load(ref, { backends: ['wasm'] });
      const codes: string[] = [];
      const bad = [
        { image: createTensor('float32', new Float32Array(784), [1, 1, 28, 28]) },
        { input: createTensor('float32', new Float32Array(3 * 784), [1, 3, 28, 28]) },
        { input: createTensor('int32', new Int32Array(784), [1, 1, 28, 28]) },
        { input: { dtype: 'float32', dims: [1, 1, 28, 28], data: new Float32Array(5) } },
      ];
      for (const feeds of bad) {
        try {
          await model.run(feeds as never);
          codes.push('no error');
        } catch (error) {
          codes.push((error as { code: string }).code);
        }
      }
      const good = await model.run({ input: createTensor('float32', new Float32Array(784), [1, 1, 28, 28]) });
      return { codes, goodLength: good.output.data.length, restarts: engine.restarts };
    }, FASHION);
    expect(outcome.codes).toEqual(['engine/input-name', 'engine/input-shape', 'engine/input-dtype', 'engine/input-shape']);
    expect(outcome.goodLength).toBe(10);
    expect(outcome.restarts).toBe(0);
  });

  test('bytes that are not a model give engine/model-invalid on every backend, and the error lists why each failed', async ({ page, requireWebGpu }) => {
    await requireWebGpu();
    await openHarness(page);
    const outcome = await page.evaluate(async () => {
      const bytes = new TextEncoder().encode('this is not an onnx model at all, just text');
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
      const sha256 = [...digest].map((byte) => byte.toString(16).padStart(2, '0')).join('');
      const fileUrl = URL.createObjectURL(new Blob([bytes]));
      const manifest = {
        schemaVersion: 1,
        models: {
          broken: {
            task: 'image-classification',
            channels: { stable: '1.0.0' },
            versions: {
              '1.0.0': {
                inputs: [{ name: 'input', dtype: 'float32', shape: [1, 4] }],
                outputs: [{ name: 'output', dtype: 'float32', shape: [1, 2] }],
                variants: { fp32: { format: 'onnx', dtype: 'float32', files: [{ path: fileUrl, size: bytes.length, sha256 }] } },
              },
            },
          },
        },
      };
      const manifestUrl = URL.createObjectURL(new Blob([JSON.stringify(manifest)], { type: 'application/json' }));
      const engine = window.edgeinfer.createEngine();
      try {
        await engine.load(`${manifestUrl}#broken`, { backends: ['webgpu', 'wasm'] });
        return { code: 'loaded?!', message: '', fallbacks: [] };
      } catch (error) {
        const typed = error as { code: string; message: string; details: { fallbacks: { code: string }[] } };
        return { code: typed.code, message: typed.message, fallbacks: typed.details.fallbacks.map((entry) => entry.code) };
      }
    });
    expect(outcome.code).toBe('engine/backend-unavailable');
    expect(outcome.fallbacks).toEqual(['engine/model-invalid', 'engine/model-invalid']);
    expect(outcome.message).toMatch(/ort-webgpu.*ort-wasm/);
  });

  test('cancelled and timed-out requests leave the queue working', async ({ page }) => {
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const { createEngine, createTensor } = window.edgeinfer;
      const engine = createEngine();
      const model = await engine.load(ref, { backends: ['wasm'] });
      const batch = () => ({ input: createTensor('float32', new Float32Array(8 * 3 * 224 * 224), [8, 3, 224, 224]) });
      const controller = new AbortController();
      const slow = model.run(batch());
      const cancelled = model.run(batch(), { signal: controller.signal });
      controller.abort();
      const timedOut = model.run(batch(), { timeoutMs: 1 });
      const after = model.run({ input: createTensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
      const settle = (promise: Promise<unknown>) => promise.then(() => 'ok', (error: { code: string }) => error.code);
      return { slow: await settle(slow), cancelled: await settle(cancelled), timedOut: await settle(timedOut), after: await settle(after) };
    }, MOBILENET);
    expect(outcome).toEqual({ slow: 'ok', cancelled: 'engine/aborted', timedOut: 'engine/timeout', after: 'ok' });
  });

  test('input buffers are transferred to the worker when the caller allows it', async ({ page }) => {
    await openHarness(page);
    const lengths = await page.evaluate(async (ref) => {
      const { createEngine, createTensor } = window.edgeinfer;
      const model = await createEngine().load(ref, { backends: ['wasm'] });
      const kept = createTensor('float32', new Float32Array(784), [1, 1, 28, 28]);
      await model.run({ input: kept });
      const moved = createTensor('float32', new Float32Array(784), [1, 1, 28, 28]);
      await model.run({ input: moved }, { transfer: true });
      return { kept: kept.data.byteLength, moved: moved.data.byteLength };
    }, FASHION);
    expect(lengths).toEqual({ kept: 784 * 4, moved: 0 });
  });
});

test.describe('engine recovery', () => {
  test('a worker killed mid-run: the caller gets its answer after the restart, one slower answer and no error', async ({ page }) => {
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const { createEngine, createTensor, createTrackedWorker, workers } = window.edgeinfer;
      const engine = createEngine({ createWorker: createTrackedWorker, hangTimeoutMs: 2000 });
      const model = await engine.load(ref, { backends: ['wasm'] });
      const pending = model.run({ input: createTensor('float32', new Float32Array(8 * 3 * 224 * 224), [8, 3, 224, 224]) });
      await new Promise((resolve) => setTimeout(resolve, 50));
      workers[0]!.terminate();
      const result = await pending;
      const next = await model.run({ input: createTensor('float32', new Float32Array(3 * 224 * 224), [1, 3, 224, 224]) });
      return { dims: result.output.dims, nextDims: next.output.dims, restarts: engine.restarts, workers: workers.length, fromCache: model.info.fromCache };
    }, MOBILENET);
    expect(outcome.dims).toEqual([8, 1000]);
    expect(outcome.nextDims).toEqual([1, 1000]);
    expect(outcome.restarts).toBe(1);
    expect(outcome.workers).toBe(2);
    expect(outcome.fromCache, 'the restarted worker reloaded the model from IndexedDB').toBe(true);
  });

  test('a hung worker is replaced and the queued request answered', async ({ page }) => {
    await openHarness(page);
    await page.evaluate(async (ref) => {
      const { createEngine, createTrackedWorker } = window.edgeinfer;
      const engine = createEngine({ createWorker: createTrackedWorker, hangTimeoutMs: 2000 });
      (window as unknown as { engine: typeof engine }).engine = engine;
      (window as unknown as { model: unknown }).model = await engine.load(ref, { backends: ['wasm'] });
    }, FASHION);
    const worker = page.workers().find((candidate) => candidate.url().includes('worker'))!;
    // Block the worker's event loop for 60 s: it can no longer answer anything.
    void worker.evaluate(() => {
      const end = Date.now() + 60_000;
      while (Date.now() < end);
    }).catch(() => undefined);
    await page.waitForTimeout(500);
    const outcome = await page.evaluate(async () => {
      const { engine, model } = window as unknown as { engine: Engine; model: Model };
      const input = window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]);
      const result = await model.run({ input });
      return { length: result.output.data.length, restarts: engine.restarts };
    });
    expect(outcome).toEqual({ length: 10, restarts: 1 });
  });
});
