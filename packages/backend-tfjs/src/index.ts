export { createTfjsBackend, createTfjsBackends } from './tfjs-backends.js';
export type { TfjsBackendOptions } from './tfjs-backends.js';
