import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

export interface TinyNode {
  readonly opType: string;
  readonly name: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly ints?: Readonly<Record<string, number>>;
}

export interface TinyModel {
  readonly input: { readonly name: string; readonly dims: readonly (number | string)[] };
  readonly output: { readonly name: string; readonly dims: readonly (number | string)[] };
  readonly initializers: Readonly<Record<string, { readonly dims: readonly number[]; readonly values: readonly number[] }>>;
  readonly nodes: readonly TinyNode[];
  readonly opset?: number;
}

function valueInfo(name: string, dims: readonly (number | string)[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) } } },
  };
}

/** Builds an ONNX model with onnx-proto, the same library the quantizer reads with. */
export function buildModel(spec: TinyModel): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'edgeinfer-test',
    opsetImport: [{ domain: '', version: spec.opset ?? 13 }],
    graph: {
      name: 'tiny',
      input: [valueInfo(spec.input.name, spec.input.dims)],
      output: [valueInfo(spec.output.name, spec.output.dims)],
      initializer: Object.entries(spec.initializers).map(([name, tensor]) => ({
        name,
        dataType: FLOAT,
        dims: [...tensor.dims],
        rawData: new Uint8Array(Float32Array.from(tensor.values).buffer),
      })),
      node: spec.nodes.map((node) => ({
        opType: node.opType,
        name: node.name,
        input: [...node.inputs],
        output: [...node.outputs],
        attribute: Object.entries(node.ints ?? {}).map(([name, i]) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i })),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** The graph of encoded model bytes (decoded graphs always have their repeated fields). */
export function decodeGraph(bytes: Uint8Array): onnxProto.onnx.GraphProto {
  return onnx.ModelProto.decode(bytes).graph as onnxProto.onnx.GraphProto;
}

export function floatValues(tensor: onnxProto.onnx.ITensorProto): number[] {
  return Array.from(new Float32Array(new Uint8Array(tensor.rawData as Uint8Array).buffer));
}

export function int8Values(tensor: onnxProto.onnx.ITensorProto): number[] {
  return Array.from(new Int8Array(new Uint8Array(tensor.rawData as Uint8Array).buffer));
}
