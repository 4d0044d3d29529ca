// The worker-side entry: no DOM-only code, so it compiles (and runs) in a WebWorker scope.
export { createEngineCore } from './engine-core.js';
export type { EngineCore, EngineCoreOptions, EngineEvent, LoadRequest, RunResult } from './engine-core.js';
export { exposeEngineCore, createWorkerApi } from './worker-host.js';
