import type {} from '../../demo/test-harness.js';
import type { Engine } from '@edgeinfer/runtime';
import { expect, test } from '../fixtures.js';
import { FASHION, openHarness } from '../support/harness.js';

test('a load/dispose loop of 50 models does not grow the worker’s WASM memory', async ({ page }) => {
  await openHarness(page);
  await page.evaluate(async () => {
    const engine = window.edgeinfer.createEngine();
    (window as unknown as { engine: typeof engine }).engine = engine;
    await engine.probe(); // starts the worker; onnxruntime-web is not loaded yet
  });
  // onnxruntime-web (threaded, cross-origin isolated) creates its heap with new WebAssembly.Memory:
  // keep a handle on it from inside the worker to read the heap size between cycles.
  const worker = page.workers()[0]!;
  await worker.evaluate(() => {
    const Original = WebAssembly.Memory;
    const memories: WebAssembly.Memory[] = [];
    (globalThis as unknown as { __memories: WebAssembly.Memory[] }).__memories = memories;
    const Tracked = function (descriptor: WebAssembly.MemoryDescriptor) {
      const memory = new Original(descriptor);
      memories.push(memory);
      return memory;
    } as unknown as typeof WebAssembly.Memory;
    Tracked.prototype = Original.prototype;
    WebAssembly.Memory = Tracked;
  });
  const heapBytes = () => worker.evaluate(() => (globalThis as unknown as { __memories: WebAssembly.Memory[] }).__memories.reduce((sum, memory) => sum + memory.buffer.byteLength, 0));
  const cycles = (count: number) =>
    page.evaluate(
      async ({ ref, count }) => {
        const engine = (window as unknown as { engine: Engine }).engine;
        for (let i = 0; i < count; i++) {
          const model = await engine.load(ref, { backends: ['wasm'] });
          await model.run({ input: window.edgeinfer.createTensor('float32', new Float32Array(784), [1, 1, 28, 28]) });
          await model.dispose();
        }
      },
      { ref: FASHION, count },
    );
  await cycles(5);
  const before = await heapBytes();
  await cycles(50);
  const after = await heapBytes();
  console.log(`onnxruntime-web heap over 50 load/run/dispose cycles: ${(before / 2 ** 20).toFixed(1)} MiB -> ${(after / 2 ** 20).toFixed(1)} MiB`);
  expect(before).toBeGreaterThan(0);
  // Leaking each 425 kB model and its session would grow the heap by > 20 MiB.
  expect(after - before).toBeLessThanOrEqual(4 * 2 ** 20);
});
