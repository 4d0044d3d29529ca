export { createTfjsBackend, createTfjsBackends } from './tfjs-backends.js';
