export { createOrtBackends, createOrtWasmBackend, createOrtWebGpuBackend, defaultThreads } from './ort-backends.js';
export type { OrtBackendOptions } from './ort-backends.js';
