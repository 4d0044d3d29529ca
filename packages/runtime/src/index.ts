export { createEngine, createWorker } from './create-engine.js';
export type { CreateEngineOptions, RuntimeEngine } from './create-engine.js';
export { createDefaultBackends } from './backends.js';
export { createTensor, EdgeInferError, isEdgeInferError, ERROR_CODES } from '@edgeinfer/core';
export type { Capability, NamedTensors, Tensor, ErrorCode } from '@edgeinfer/core';
export type { Classification, ClassifyOutput, Engine, LoadOptions, Model, ModelInfo, RunOptions, RunOutput, FallbackRecord } from '@edgeinfer/engine';
export { createLoader } from '@edgeinfer/loader';
export type { LoadProgress, CachedModelRecord } from '@edgeinfer/loader';
