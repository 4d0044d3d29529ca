export { EdgeInferError, ERROR_CODES, isEdgeInferError, toSerializedError, fromSerializedError, isSerializedError } from './errors.js';
export type { ErrorCode, ErrorDetails, SerializedError } from './errors.js';
export { createTensor, elementCount, isTensor, softmax, topK } from './tensor.js';
export type { Tensor, TensorDtype, TensorData, TensorDataByDtype, NamedTensors } from './tensor.js';
export { backendId } from './backend.js';
export type { AdapterFacts, Backend, BackendLibrary, BackendName, Capability, ModelFiles, Session, SessionOptions } from './backend.js';
export { parseManifest } from './manifest.js';
export type {
  Dim,
  Manifest,
  ManifestFile,
  ManifestModel,
  ManifestVariant,
  ManifestVersion,
  ModelFormat,
  Preprocessing,
  TensorSpec,
  VariantDtype,
  VariantEncryption,
} from './manifest.js';
