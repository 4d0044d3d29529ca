export { createOrtBackends, createOrtWasmBackend, createOrtWebGpuBackend, defaultThreads } from './ort-backends.js';
export type { OrtBackendOptions } from './ort-backends.js';
export { describeAdapter, probeWebGpu } from './webgpu-probe.js';
