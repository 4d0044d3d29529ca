import type {} from '../../demo/test-harness.js';
import type { Engine, Model } from '@edgeinfer/runtime';
import { expect, test } from '../fixtures.js';
import { startCpuHog, type CpuHog } from '../support/cpu-hog.js';
import { FASHION, MOBILENET, openHarness } from '../support/harness.js';

// Every fault here must hold on a loaded device: both cores stay busy with other processes throughout.
let hog: CpuHog;
test.beforeAll(() => {
  hog = startCpuHog({ processes: 2 });
});
test.afterAll(() => hog.stop());

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

test.describe('busy is not hung', () => {
  test('a run longer than hangTimeoutMs answers without a restart', async ({ page }) => {
    await openHarness(page);
    const hangTimeoutMs = 200;
    const outcome = await page.evaluate(async ({ ref, hangTimeoutMs }) => {
      const { createEngine, createTensor, createTrackedWorker } = window.edgeinfer;
      const restarts: string[] = [];
      const engine = createEngine({ createWorker: createTrackedWorker, hangTimeoutMs, onEvent: (event) => event.type === 'restart' && restarts.push(event.reason) });
      const model = await engine.load(ref, { backends: ['wasm'] });
      const batch = (size: number) => ({ input: createTensor('float32', new Float32Array(size * 3 * 224 * 224).fill(0.5), [size, 3, 224, 224]) });
      // The first run has only the check run to go by; the second is judged by the first's measured time.
      const first = await model.run(batch(32));
      const second = await model.run(batch(32));
      const small = await model.run(batch(1));
      return {
        runMs: [first.timings.runMs, second.timings.runMs],
        dims: [first.output.dims, second.output.dims, small.output.dims],
        same: first.output.data.every((value, index) => value === second.output.data[index]),
        restarts: engine.restarts,
        reasons: restarts,
      };
    }, { ref: MOBILENET, hangTimeoutMs });
    test.info().annotations.push({ type: 'run times (ms)', description: outcome.runMs.map(Math.round).join(', ') });
    expect(Math.min(...outcome.runMs), 'the premise: each batch-32 run blocks the worker longer than hangTimeoutMs').toBeGreaterThan(hangTimeoutMs);
    expect(outcome.reasons).toEqual([]);
    expect(outcome.restarts).toBe(0);
    expect(outcome.dims).toEqual([[32, 1000], [32, 1000], [1, 1000]]);
    expect(outcome.same).toBe(true);
  });

  test('a worker frozen in an infinite loop mid-run is replaced, and the request answered with the right values', async ({ page }) => {
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const { createEngine, createTensor, createFaultyWorkers } = window.edgeinfer;
      // Only the first worker's ort-wasm sessions freeze on a run whose input starts with 7.
      const workers = createFaultyWorkers([{ freezeRunsOn: ['ort-wasm'], whenFirstValueIs: 7 }, null]);
      const engine = createEngine({ createWorker: workers.createWorker, hangTimeoutMs: 500 });
      const model = await engine.load(ref, { backends: ['ort-wasm'] });
      const input = () => createTensor('float32', new Float32Array(784).fill(0.25).fill(7, 0, 1), [1, 1, 28, 28]);
      const zeros = await model.run({ input: createTensor('float32', new Float32Array(784), [1, 1, 28, 28]) });
      const answered = await model.run({ input: input() });
      const again = await model.run({ input: input() });
      return {
        zeros: zeros.output.data.length,
        values: [...answered.output.data],
        again: [...again.output.data],
        restarts: engine.restarts,
        starts: workers.starts,
        backend: model.info.backend,
        fallbacks: model.info.fallbacks,
      };
    }, FASHION);
    expect(outcome.zeros).toBe(10);
    expect(outcome.values).toHaveLength(10);
    expect(outcome.values, 'the retried answer is the one the healthy worker gives').toEqual(outcome.again);
    expect(outcome.restarts).toBe(1);
    expect(outcome.starts).toBe(2);
    expect(outcome.backend, 'one hang is not a reason to leave the backend').toBe('ort-wasm');
    expect(outcome.fallbacks).toEqual([]);
  });

  test('a backend that hangs twice: the model moves to the next backend, with engine/worker-lost recorded', async ({ page, requireWebGpu }) => {
    await requireWebGpu();
    await openHarness(page);
    const outcome = await page.evaluate(async (ref) => {
      const { createEngine, createTensor, createFaultyWorkers } = window.edgeinfer;
      // Every worker's ort-wasm sessions freeze on this input: only leaving ort-wasm answers it.
      const workers = createFaultyWorkers([{ freezeRunsOn: ['ort-wasm'], whenFirstValueIs: 7 }]);
      const events: { type: string; backend?: string; code?: string }[] = [];
      const engine = createEngine({
        createWorker: workers.createWorker,
        hangTimeoutMs: 500,
        onEvent: (event) => events.push({ type: event.type, ...(event.type === 'fallback' ? { backend: event.fallback.backend, code: event.fallback.code } : {}) }),
      });
      const model = await engine.load(ref, { backends: ['ort-wasm', 'ort-webgpu'] });
      const loadedOn = model.info.backend;
      const input = () => createTensor('float32', new Float32Array(784).fill(0.25).fill(7, 0, 1), [1, 1, 28, 28]);
      const result = await model.run({ input: input() });
      // The reference: the same input on ort-wasm in the page, where nothing freezes.
      const reference = await (await createEngine({ worker: false }).load(ref, { backends: ['ort-wasm'] })).run({ input: input() });
      return {
        loadedOn,
        backend: result.backend,
        info: { backend: model.info.backend, fallbacks: model.info.fallbacks, selectionReason: model.info.selectionReason },
        maxDifference: Math.max(...[...result.output.data].map((value, index) => Math.abs((value as number) - (reference.output.data[index] as number)))),
        restarts: engine.restarts,
        starts: workers.starts,
        events: events.filter((event) => event.type !== 'run' && event.type !== 'load'),
      };
    }, FASHION);
    expect(outcome.loadedOn).toBe('ort-wasm');
    expect(outcome.backend).toBe('ort-webgpu');
    expect(outcome.info.backend).toBe('ort-webgpu');
    expect(outcome.info.fallbacks).toEqual([expect.objectContaining({ backend: 'ort-wasm', code: 'engine/worker-lost', at: 'run' })]);
    expect(outcome.info.fallbacks[0]!.message).toMatch(/answered nothing .* past the expected time/);
    expect(outcome.maxDifference).toBeLessThan(1e-3);
    expect(outcome.restarts).toBe(2);
    expect(outcome.starts).toBe(3);
    expect(outcome.events).toEqual([
      { type: 'restart' },
      { type: 'restart' },
      { type: 'fallback', backend: 'ort-wasm', code: 'engine/worker-lost' },
    ]);
  });
});

test.describe('a worker that cannot start', () => {
  for (const [label, path, answer] of [
    ['a 404', '/missing-engine-worker.js', { status: 404, contentType: 'text/plain', body: 'not found' }],
    ['a script that throws', '/throwing-engine-worker.js', { status: 200, contentType: 'text/javascript', body: 'throw new Error("broken build");' }],
  ] as const) {
    test(`workerUrl pointing at ${label}: the load rejects with engine/worker-start-failed naming the URL, and starts stay under the limit`, async ({ page }) => {
      let starts = 0;
      await page.route(`**${path}`, (route) => {
        starts++;
        return route.fulfill(answer);
      });
      await openHarness(page);
      const outcome = await page.evaluate(async ({ ref, path }) => {
        const engine = window.edgeinfer.createEngine({ workerUrl: path });
        const settle = (work: Promise<unknown>) =>
          work.then(
            () => ({ code: 'loaded?!', message: '', gaveUp: undefined as boolean | undefined }),
            (error: { code?: string; message: string; details?: { gaveUp?: boolean } }) => ({ code: error.code ?? `untyped: ${String(error)}`, message: error.message, gaveUp: error.details?.gaveUp }),
          );
        const first = await settle(engine.load(ref, { backends: ['wasm'] }));
        const later = await settle(engine.load(ref, { backends: ['wasm'] }));
        return { first, later };
      }, { ref: FASHION, path });
      expect(outcome.first.code).toBe('engine/worker-start-failed');
      expect(outcome.first.message).toContain(path);
      expect(outcome.first.message).toMatch(/Content-Security-Policy/);
      expect(outcome.first.gaveUp).toBe(true);
      const afterGivingUp = starts;
      expect(afterGivingUp, 'it retried, with back-off').toBeGreaterThan(1);
      expect(afterGivingUp, 'at most the 5 starts per window').toBeLessThanOrEqual(5);
      expect(outcome.later.code, 'a new call inside the window fails at once, starting no worker').toBe('engine/worker-start-failed');
      await page.waitForTimeout(1500);
      expect(starts, 'no restart loop in the background').toBe(afterGivingUp);
    });
  }
});
