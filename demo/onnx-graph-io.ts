import { EdgeInferError, type TensorSpec } from '@edgeinfer/core';

/** ONNX TensorProto.DataType -> our dtype names; anything else cannot be fed from an image. */
const ONNX_DTYPES: Record<number, TensorSpec['dtype']> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16' };

export interface GraphIo {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
}

interface ValueInfo {
  name?: string | null;
  type?: { tensorType?: { elemType?: number | null; shape?: { dim?: { dimValue?: number | { toNumber(): number } | null; dimParam?: string | null }[] | null } | null } | null } | null;
}

function toSpec(value: ValueInfo, index: number): TensorSpec {
  const tensorType = value.type?.tensorType;
  const dtype = ONNX_DTYPES[tensorType?.elemType ?? 0];
  if (!value.name || !tensorType || !dtype) {
    throw new EdgeInferError('engine/model-invalid', `ONNX graph input/output ${value.name ?? index} is not a tensor of a supported type.`, { details: { name: value.name ?? null } });
  }
  const shape = (tensorType.shape?.dim ?? []).map((dim, axis) => {
    const size = typeof dim.dimValue === 'number' ? dim.dimValue : (dim.dimValue?.toNumber() ?? 0);
    return size > 0 ? size : dim.dimParam || `dim${axis}`;
  });
  return { name: value.name, dtype, shape };
}

/** Reads the graph's real inputs (not its initializers) and outputs from the ONNX protobuf. */
export async function readOnnxGraphIo(bytes: Uint8Array): Promise<GraphIo> {
  // onnx-proto (protobufjs) is ~100 kB: loaded only when a user brings an ONNX file.
  const { onnx } = await import('onnx-proto');
  let model: InstanceType<typeof onnx.ModelProto>;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new EdgeInferError('engine/model-invalid', `This file is not an ONNX model (${(cause as Error).message}).`, { cause });
  }
  const graph = model.graph;
  if (!graph || !graph.input?.length || !graph.output?.length) {
    throw new EdgeInferError('engine/model-invalid', 'This file is not an ONNX model: it has no graph with inputs and outputs.');
  }
  const initializers = new Set((graph.initializer ?? []).map((tensor) => tensor.name));
  const inputs = graph.input.filter((input) => !initializers.has(input.name ?? '')).map(toSpec);
  return { inputs, outputs: graph.output.map(toSpec) };
}
