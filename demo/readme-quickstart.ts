import { createEngine, createTensor } from '@edgeinfer/runtime';

const engine = createEngine(); // a Web Worker, automatic backend, no configuration
const model = await engine.load('/models/manifest.json#fashion-mnist', {
  onProgress: ({ phase, loadedBytes, totalBytes }) => console.log(phase, loadedBytes, totalBytes),
});
const input = createTensor('float32', new Float32Array(28 * 28), [1, 1, 28, 28]);
const { output } = await model.run({ input }, { timeoutMs: 5000 });
console.log(model.info.backend, model.info.selectionReason, output.dims); // e.g. ort-wasm ... [1, 10]

// Image classifiers: resize and normalise per the manifest, softmax, top-k labels.
const { top } = await model.classify(document.querySelector('img')!);
console.log(top[0]?.label, top[0]?.probability);
