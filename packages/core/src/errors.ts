/**
 * Every error edgeinfer throws is an EdgeInferError with a stable, namespaced `code`.
 * Errors cross the worker boundary as plain objects (structured clone drops class identity),
 * so `toSerializedError` / `fromSerializedError` carry code, details and cause across postMessage.
 */
export const ERROR_CODES = {
  'core/invalid-tensor': 'A tensor was built with data that does not match its dtype or dims.',
  'core/invalid-manifest': 'The model manifest does not match the schema.',
  'core/invalid-probe': 'A reference probe file does not match the probe format.',
  'loader/network': 'A model file or the manifest could not be fetched.',
  'loader/http-status': 'The server answered a model file request with a non-2xx status.',
  'loader/not-a-model': 'The server answered with HTML or another type that is not a model file.',
  'loader/size-mismatch': 'A downloaded file does not have the size the manifest declares.',
  'loader/integrity': 'A downloaded or cached file does not match its SHA-256 in the manifest.',
  'loader/quota': 'Not enough storage for the model even after evicting older models.',
  'loader/model-not-found': 'The manifest has no such model, version or variant.',
  'loader/revoked': 'The requested version is revoked in the manifest.',
  'loader/offline': 'The network is unavailable and the model is not cached.',
  'loader/decrypt': 'An encrypted variant could not be decrypted with the given key.',
  'loader/aborted': 'The load was aborted by its AbortSignal.',
  'engine/backend-unavailable': 'No backend can run this model on this device.',
  'engine/backend-failed': 'A backend failed to create a session or to run.',
  'engine/probe-mismatch': "A backend's outputs on the variant's reference probe differ from the expected outputs beyond the tolerance.",
  'engine/gpu-error': 'WebGPU reported a validation, out-of-memory or internal error during a run, so its outputs cannot be trusted.',
  'engine/dtype-unsupported': 'The backend cannot carry a tensor dtype the model uses; another backend is tried.',
  'engine/model-invalid': 'The model bytes are corrupt or not a model this backend can read.',
  'engine/input-name': 'An input is missing or has a name the model does not declare.',
  'engine/input-dtype': 'An input has a dtype the model does not accept.',
  'engine/input-shape': 'An input has a shape the model does not accept.',
  'engine/timeout': 'A run did not finish within its timeoutMs.',
  'engine/aborted': 'A run was aborted by its AbortSignal.',
  'engine/disposed': 'The model or engine was disposed before the call.',
  'engine/worker-crashed': 'The inference worker died and could not be restarted.',
  'engine/worker-lost': 'The inference worker crashed or hung during the call and was replaced; as a fallback reason, the model moved to its next backend.',
  'engine/worker-start-failed': 'The inference worker script could not start (404, not JavaScript, a syntax error, or blocked by CSP); restarts are bounded.',
  'engine/invalid-image': 'The image could not be decoded or has no pixels.',
  'quantize/not-onnx': 'The input file is not an ONNX model.',
  'quantize/unsupported-opset': 'The model uses an opset the quantizer does not support.',
  'quantize/invalid-data': 'Calibration or evaluation data is missing or does not match the model input.',
  'release/refused': 'edgeinfer-models refused a change that would leave the manifest invalid (nothing was written).',
  'release/invalid-input': 'edgeinfer-models was given a file, flag or version it cannot use.',
  'release/validation-failed': 'edgeinfer-models validate found files or fields that do not match the manifest.',
  'telemetry/invalid-event': 'An event does not match the telemetry schema.',
  'telemetry/rejected': 'The collector rejected a batch as malformed or too large; retrying cannot help, so it was dropped.',
  'collector/auth': 'The ingest key or admin token is missing or wrong.',
  'collector/invalid-batch': 'The posted batch does not match the telemetry schema.',
  'collector/rate-limited': 'Too many requests for this ingest key.',
  'collector/storage': 'The collector could not store or read events.',
  'collector/payload-too-large': 'The posted body is larger than the collector accepts.',
  'collector/invalid-query': 'A query parameter of a read endpoint is malformed.',
  'collector/not-found': 'No such route on the collector.',
  'collector/invalid-timestamp': 'An event ts is outside the window the collector accepts (retention back, a few minutes ahead).',
  'collector/cardinality-limit': 'A batch would exceed an app\'s limit of distinct models, versions or devices per window.',
  'collector/query-timeout': 'A stats or devices query ran past the collector\'s time limit and was abandoned.',
  'collector/storage-replaced': 'The SQLite file was deleted or replaced while the collector had it open; nothing more is acknowledged.',
  'collector/storage-full': 'The disk holding the database is full.',
  'collector/storage-read-only': 'The database or its disk became read-only.',
  'collector/storage-io': 'The database failed to read or write its files (I/O error).',
  'collector/insecure-credentials': 'The collector refused to listen beyond loopback with the published development key or token.',
  'collector/manifest': 'The manifest file the collector serves (--manifest) is missing, not JSON or not a valid manifest.',
  'collector/guard': 'The canary guard configuration (--guard) is invalid, or the guard could not change the manifest.',
  'collector/guard-needs-models': 'The canary guard revokes with @edgeinfer/models, an optional peer of the collector that is not installed.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export type ErrorDetails = Record<string, unknown>;

export interface SerializedError {
  readonly __edgeinfer: 1;
  readonly name: string;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: ErrorDetails;
  readonly stack?: string;
  readonly cause?: SerializedError | { name: string; message: string; stack?: string };
}

export class EdgeInferError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EdgeInferError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isEdgeInferError(value: unknown, code?: ErrorCode): value is EdgeInferError {
  return value instanceof EdgeInferError && (code === undefined || value.code === code);
}

/** Turns any thrown value into a structured-cloneable object that keeps code, details and cause. */
export function toSerializedError(error: unknown): SerializedError {
  if (error instanceof EdgeInferError) {
    return {
      __edgeinfer: 1,
      name: error.name,
      code: error.code,
      message: error.message,
      details: toPlainData(error.details),
      ...(error.stack === undefined ? {} : { stack: error.stack }),
      ...(error.cause === undefined ? {} : { cause: serializeCause(error.cause) }),
    };
  }
  const plain = error instanceof Error ? error : new Error(String(error));
  return {
    __edgeinfer: 1,
    name: 'EdgeInferError',
    code: 'engine/backend-failed',
    message: plain.message,
    details: {},
    cause: { name: plain.name, message: plain.message, ...(plain.stack ? { stack: plain.stack } : {}) },
  };
}

export function isSerializedError(value: unknown): value is SerializedError {
  return typeof value === 'object' && value !== null && (value as { __edgeinfer?: unknown }).__edgeinfer === 1;
}

/** Rebuilds a real EdgeInferError (instanceof works again) from its serialized form. */
export function fromSerializedError(serialized: SerializedError): EdgeInferError {
  const cause = serialized.cause === undefined ? undefined : rebuildCause(serialized.cause);
  const error = new EdgeInferError(serialized.code, serialized.message, {
    details: serialized.details,
    ...(cause === undefined ? {} : { cause }),
  });
  if (serialized.stack) error.stack = serialized.stack;
  return error;
}

function serializeCause(cause: unknown): SerializedError['cause'] {
  if (cause instanceof EdgeInferError) return toSerializedError(cause);
  if (cause instanceof Error) return { name: cause.name, message: cause.message, ...(cause.stack ? { stack: cause.stack } : {}) };
  return { name: 'Error', message: String(cause) };
}

function rebuildCause(cause: NonNullable<SerializedError['cause']>): Error {
  if (isSerializedError(cause)) return fromSerializedError(cause);
  const error = new Error(cause.message);
  error.name = cause.name;
  if (cause.stack) error.stack = cause.stack;
  return error;
}

/** Details must survive structured clone: drop functions and class instances that would throw. */
function toPlainData(details: ErrorDetails): ErrorDetails {
  try {
    return JSON.parse(JSON.stringify(details)) as ErrorDetails;
  } catch {
    return { unserializable: true };
  }
}
