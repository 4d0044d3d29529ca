/**
 * `@edgeinfer/engine/client`: only the page side (the client that talks to the worker), so a page
 * bundle does not reach the engine core, the loader or the backends through the package index.
 */
export { createEngineClient } from './engine-client.js';
export type { Classification, ClassifyOutput, ClientEvent, Engine, EngineClientOptions, LoadOptions, Model, RunOptions, RunOutput } from './engine-client.js';
export type { EngineCore } from './engine-core.js';
export type { FallbackRecord, ModelInfo, ModelTimings } from './model-info.js';
