export { EdgeInferError, ERROR_CODES, isEdgeInferError, toSerializedError, fromSerializedError, isSerializedError } from './errors.js';
export type { ErrorCode, ErrorDetails, SerializedError } from './errors.js';
export { TENSOR_DTYPES, allocateTensorData, arrayTypeOf, createTensor, elementCount, hasDataOf, isTensor, softmax, topK } from './tensor.js';
export {
  DEFAULT_PROBE_TOLERANCE,
  compareOutputs,
  compareTensor,
  decodeBase64,
  encodeBase64,
  float16ToNumber,
  parseProbe,
  serializeProbe,
  serializeTensor,
  tensorValueAt,
} from './probe.js';
export type { Probe, ProbeMismatch, ProbeTolerance } from './probe.js';
export type { Tensor, TensorDtype, TensorData, TensorDataByDtype, NamedTensors } from './tensor.js';
export { backendId } from './backend.js';
export { openYieldingStore } from './yielding-store.js';
export type { IdbStore } from './yielding-store.js';
export type { AdapterFacts, Backend, BackendLibrary, BackendName, Capability, ModelFiles, Session, SessionOptions } from './backend.js';
export { parseManifest } from './manifest.js';
export { readOnnxGraphIo, looksLikeOnnx } from './onnx-graph-io.js';
export type { GraphIo } from './onnx-graph-io.js';
export { describeTfjsModel, isTfjsModelJson } from './tfjs-model-json.js';
export type { TfjsModelDescription, TfjsModelJson } from './tfjs-model-json.js';
export { defaultPreprocessing, UNIT_NORMALIZATION } from './default-preprocessing.js';
export { mulberry32 } from './seeded-random.js';
export type { Normalization } from './default-preprocessing.js';
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
  VariantProbe,
} from './manifest.js';
