// What every runtime entry exports besides createEngine/createWorker.
export type { CreateEngineOptions, RuntimeEngine } from './runtime-engine.js';
export { createTensor, EdgeInferError, isEdgeInferError, ERROR_CODES } from '@edgeinfer/core';
export type { Capability, NamedTensors, Tensor, ErrorCode } from '@edgeinfer/core';
export type { Classification, ClassifyOutput, Engine, LoadOptions, Model, ModelInfo, RunOptions, RunOutput, FallbackRecord } from '@edgeinfer/engine';
// createLoader (the cache, for a page that lists or clears models) is on the main entry and in @edgeinfer/loader.
export type { LoadProgress, CachedModelRecord } from '@edgeinfer/loader';
