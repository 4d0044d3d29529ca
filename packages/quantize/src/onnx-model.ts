import { EdgeInferError } from '@edgeinfer/core';
import onnxProto from 'onnx-proto';

// onnx-proto is a CommonJS protobufjs bundle: Node's ESM loader sees only its default export.
export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

export const DataType = onnx.TensorProto.DataType;

/** QDQ with a per-channel `axis` on DequantizeLinear exists from opset 13. */
export const QDQ_OPSET = 13;
/** Older than this, the quantizer refuses the model: QuantizeLinear/DequantizeLinear do not exist before opset 10. */
export const MIN_SUPPORTED_OPSET = 10;

/**
 * Ops whose schema did not change between opset 10 and 13 in any way a graph would notice,
 * so a model using only these can have its opset declaration raised to 13 safely.
 * (Softmax, Split, Squeeze, Unsqueeze, ReduceSum, Clip, Pad, Resize, Dropout changed; not listed.)
 */
const OPSET_UPGRADE_SAFE_OPS = new Set([
  'Conv', 'Gemm', 'MatMul', 'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'MaxPool', 'AveragePool', 'GlobalAveragePool',
  'GlobalMaxPool', 'Flatten', 'Reshape', 'Transpose', 'Concat', 'Add', 'Sub', 'Mul', 'Div', 'Identity',
  'BatchNormalization', 'Constant', 'Shape', 'Gather',
]);

export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

/** Decodes ONNX protobuf bytes; anything that is not a model with a graph is 'quantize/not-onnx'. */
export function decodeModel(bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw notOnnx(bytes, cause);
  }
  // Random bytes sometimes decode as a protobuf message; a real model has an IR version, an opset and nodes.
  if (toNumber(model.irVersion) <= 0 || model.opsetImport.length === 0 || !model.graph || (model.graph.node ?? []).length === 0) {
    throw notOnnx(bytes);
  }
  return model;
}

function notOnnx(bytes: Uint8Array, cause?: unknown): EdgeInferError {
  return new EdgeInferError(
    'quantize/not-onnx',
    `The input (${bytes.byteLength} bytes) is not an ONNX model: give the quantizer a .onnx file exported by PyTorch, tf2onnx or similar.`,
    { details: { sizeBytes: bytes.byteLength }, ...(cause === undefined ? {} : { cause }) },
  );
}

export function encodeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(model).finish();
}

export function defaultDomainOpset(model: ModelProto): number {
  const entry = model.opsetImport.find((opset) => !opset.domain || opset.domain === 'ai.onnx');
  return toNumber(entry?.version);
}

/**
 * Makes sure the model can carry per-channel QDQ (opset >= 13). Raises the declaration when every op
 * is unchanged between the model's opset and 13; otherwise throws 'quantize/unsupported-opset'.
 * Returns a warning when it raised the opset.
 */
export function ensureQdqOpset(model: ModelProto): string | undefined {
  const opset = defaultDomainOpset(model);
  if (opset >= QDQ_OPSET) return undefined;
  const graph = model.graph as GraphProto;
  const unsafe = (graph.node ?? []).filter((node) => !OPSET_UPGRADE_SAFE_OPS.has(node.opType ?? ''));
  if (opset < MIN_SUPPORTED_OPSET || unsafe.length > 0) {
    const blocking = unsafe.slice(0, 5).map((node) => `${node.name || '(unnamed)'} (${node.opType})`);
    throw new EdgeInferError(
      'quantize/unsupported-opset',
      `The model declares opset ${opset}; per-channel int8 needs opset ${QDQ_OPSET}` +
        (opset < MIN_SUPPORTED_OPSET
          ? ` and opsets below ${MIN_SUPPORTED_OPSET} have no QuantizeLinear. Re-export the model with opset ${QDQ_OPSET} or newer.`
          : `, and these nodes changed meaning since opset ${opset}: ${blocking.join(', ')}. Re-export the model with opset ${QDQ_OPSET} or newer.`),
      { details: { opset, requiredOpset: QDQ_OPSET, blockingNodes: blocking } },
    );
  }
  for (const entry of model.opsetImport) {
    if (!entry.domain || entry.domain === 'ai.onnx') entry.version = QDQ_OPSET;
  }
  // Opset 13 needs IR version 7 or newer.
  if (toNumber(model.irVersion) < 7) model.irVersion = 7;
  return `raised the opset declaration from ${opset} to ${QDQ_OPSET} (all ops are unchanged between the two)`;
}

/** The float32 values of an initializer, whether stored as raw_data or float_data. */
export function readFloat32(tensor: TensorProto): Float32Array {
  const raw = tensor.rawData;
  if (raw && raw.byteLength > 0) {
    // Copy: the protobuf view may be unaligned inside the model buffer.
    return new Float32Array(new Uint8Array(raw).buffer);
  }
  return Float32Array.from(tensor.floatData ?? []);
}

export function tensorDims(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map((dim) => toNumber(dim));
}

export function createTensor(name: string, dataType: number, dims: readonly number[], data: Float32Array | Int8Array | Uint8Array | Int32Array): TensorProto {
  return onnx.TensorProto.create({
    name,
    dataType,
    dims: [...dims],
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

export function attribute(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((attr) => attr.name === name);
}

export function intAttribute(node: NodeProto, name: string, fallback: number): number {
  const attr = attribute(node, name);
  return attr ? toNumber(attr.i) : fallback;
}

export function floatAttribute(node: NodeProto, name: string, fallback: number): number {
  const attr = attribute(node, name);
  return attr?.f ?? fallback;
}

export function intAttr(name: string, value: number): AttributeProto {
  return onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
}

export interface GraphInput {
  readonly name: string;
  /** Numbers for fixed dims, the dim_param name (for example 'batch') for symbolic ones. */
  readonly dims: ReadonlyArray<number | string>;
}

/** The model's graph inputs that are not initializers (old exporters list weights as inputs too). */
export function graphInputs(model: ModelProto): GraphInput[] {
  const graph = model.graph as GraphProto;
  const initializers = new Set((graph.initializer ?? []).map((tensor) => tensor.name));
  return (graph.input ?? [])
    .filter((input) => !initializers.has(input.name))
    .map((input) => ({
      name: input.name ?? '',
      dims: (input.type?.tensorType?.shape?.dim ?? []).map((dim) => (dim.dimParam ? dim.dimParam : toNumber(dim.dimValue))),
    }));
}
