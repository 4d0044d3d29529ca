/**
 * `@edgeinfer/runtime`: the engine in a module worker with both libraries wired (install
 * `@edgeinfer/backend-ort` and `@edgeinfer/backend-tfjs`). ONNX-only apps import
 * `@edgeinfer/runtime/onnx`, TF.js-only apps `@edgeinfer/runtime/tfjs`.
 */
export { createEngine, createWorker } from './create-engine.js';
export { createDefaultBackends } from './backends.js';
export * from './shared-exports.js';
export { createLoader } from '@edgeinfer/loader';
