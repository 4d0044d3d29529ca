// Small models built in Node for the check-run and naming specs: each is valid, and each was
// rejected (or mislabelled) by a check that ran models on zeros or matched outputs by position.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const TYPES = { float32: onnx.TensorProto.DataType.FLOAT, int64: onnx.TensorProto.DataType.INT64 } as const;

interface Io {
  readonly name: string;
  readonly dtype: keyof typeof TYPES;
  readonly dims: readonly (number | string)[];
}

interface OnnxSpec {
  readonly inputs: readonly Io[];
  readonly outputs: readonly Io[];
  readonly nodes: readonly { opType: string; inputs: string[]; outputs: string[]; ints?: Record<string, number> }[];
  readonly initializers?: Readonly<Record<string, { dims: number[]; values: number[] }>>;
}

const valueInfo = (io: Io): onnxProto.onnx.IValueInfoProto => ({
  name: io.name,
  type: { tensorType: { elemType: TYPES[io.dtype], shape: { dim: io.dims.map((dim) => (typeof dim === 'number' ? { dimValue: dim } : { dimParam: dim })) } } },
});

export function buildOnnx(spec: OnnxSpec): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'edgeinfer-e2e',
      opsetImport: [{ domain: '', version: 13 }],
      graph: {
        name: 'check',
        input: spec.inputs.map(valueInfo),
        output: spec.outputs.map(valueInfo),
        initializer: Object.entries(spec.initializers ?? {}).map(([name, tensor]) => ({ name, dataType: TYPES.float32, dims: tensor.dims, rawData: new Uint8Array(Float32Array.from(tensor.values).buffer) })),
        node: spec.nodes.map((node, index) => ({
          opType: node.opType,
          name: `n${index}`,
          input: node.inputs,
          output: node.outputs,
          attribute: Object.entries(node.ints ?? {}).map(([name, i]) => ({ name, type: onnx.AttributeProto.AttributeType.INT, i })),
        })),
      },
    }),
  ).finish();
}

/** log(x) and x / y: NaN and -Infinity are the right answers for zeros and negatives. */
export const LOG_DIVISION = {
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3] }, { name: 'y', dtype: 'float32', dims: [2, 3] }],
  outputs: [{ name: 'log', dtype: 'float32', dims: [2, 3] }, { name: 'ratio', dtype: 'float32', dims: [2, 3] }],
  nodes: [{ opType: 'Log', inputs: ['x'], outputs: ['log'] }, { opType: 'Div', inputs: ['x', 'y'], outputs: ['ratio'] }],
} as const satisfies OnnxSpec;

/** Expand by a shape given as an int64 input: all zeros is not a shape. */
export const SHAPE_INPUT = {
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 1] }, { name: 'shape', dtype: 'int64', dims: [2] }],
  outputs: [{ name: 'expanded', dtype: 'float32', dims: ['rows', 'columns'] }],
  nodes: [{ opType: 'Expand', inputs: ['x', 'shape'], outputs: ['expanded'] }],
} as const satisfies OnnxSpec;

/** A masked mean, as attention pooling does: an all-zeros mask gives 0/0 = NaN, rightly. */
export const MASKED_MEAN = {
  inputs: [{ name: 'x', dtype: 'float32', dims: [1, 4] }, { name: 'mask', dtype: 'int64', dims: [1, 4] }],
  outputs: [{ name: 'mean', dtype: 'float32', dims: [] }],
  nodes: [
    { opType: 'Cast', inputs: ['mask'], outputs: ['maskf'], ints: { to: TYPES.float32 } },
    { opType: 'Mul', inputs: ['x', 'maskf'], outputs: ['masked'] },
    { opType: 'ReduceSum', inputs: ['masked'], outputs: ['total'], ints: { keepdims: 0 } },
    { opType: 'ReduceSum', inputs: ['maskf'], outputs: ['count'], ints: { keepdims: 0 } },
    { opType: 'Div', inputs: ['total', 'count'], outputs: ['mean'] },
  ],
} as const satisfies OnnxSpec;

/**
 * Two outputs of different shapes and values, declared by the graph in the opposite order from the
 * manifest: a backend that labels outputs by position swaps them.
 */
export const TWO_OUTPUTS = {
  inputs: [{ name: 'x', dtype: 'float32', dims: [2, 3] }],
  outputs: [{ name: 'total', dtype: 'float32', dims: [] }, { name: 'transposed', dtype: 'float32', dims: [3, 2] }],
  nodes: [
    { opType: 'ReduceSum', inputs: ['x'], outputs: ['total'], ints: { keepdims: 0 } },
    { opType: 'Transpose', inputs: ['x'], outputs: ['transposed'] },
  ],
} as const satisfies OnnxSpec;

/** A doubling model for probe specs. */
export const DOUBLE = {
  inputs: [{ name: 'x', dtype: 'float32', dims: [1, 4] }],
  outputs: [{ name: 'y', dtype: 'float32', dims: [1, 4] }],
  nodes: [{ opType: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
} as const satisfies OnnxSpec;

// ---- TF.js graph models, written as the converter writes them (model.json + one weights file) ----

export interface TfjsGraphModel {
  readonly modelJson: object;
  readonly weights: Uint8Array;
}

type Attr = Record<string, unknown>;
const floatType = { type: 'DT_FLOAT' };
const intType = { type: 'DT_INT32' };
const text = (value: string) => ({ s: Buffer.from(value).toString('base64') });

function graphModel(nodes: { name: string; op: string; input?: string[]; attr?: Attr }[], consts: { name: string; dtype: 'float32' | 'int32'; values: number[] }[], signature?: object): TfjsGraphModel {
  const weights = consts.map((entry) => ({ name: entry.name, shape: [] as number[], dtype: entry.dtype }));
  const bytes = Buffer.concat(consts.map((entry) => Buffer.from((entry.dtype === 'int32' ? Int32Array.from(entry.values) : Float32Array.from(entry.values)).buffer)));
  const constNodes = consts.map((entry) => ({
    name: entry.name,
    op: 'Const',
    attr: { dtype: entry.dtype === 'int32' ? intType : floatType, value: { tensor: { dtype: entry.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: {} } } },
  }));
  return {
    modelJson: {
      format: 'graph-model',
      generatedBy: 'edgeinfer e2e/support/check-models.ts (hand-written)',
      convertedBy: 'hand-written',
      modelTopology: { node: [...constNodes, ...nodes], versions: { producer: 1982 }, ...(signature ? {} : {}) },
      weightsManifest: [{ paths: ['weights.bin'], weights }],
      ...(signature ? { signature } : {}),
    },
    weights: new Uint8Array(bytes),
  };
}

/**
 * y = x * 2^3 with a TF1 while loop (Enter/Merge/Switch/LoopCond/NextIteration/Exit): TF.js runs it
 * only with executeAsync ("... has the dynamic op 'Exit'. Please use model.executeAsync()").
 */
export function whileLoopGraph(): TfjsGraphModel {
  const frame = { frame_name: text('while'), is_constant: { b: false }, parallel_iterations: { i: '10' } };
  const constant = { frame_name: text('while'), is_constant: { b: true }, parallel_iterations: { i: '10' } };
  return graphModel(
    [
      { name: 'x', op: 'Placeholder', attr: { dtype: floatType, shape: { shape: { dim: [{ size: '1' }, { size: '3' }] } } } },
      { name: 'while/Enter_x', op: 'Enter', input: ['x'], attr: { T: floatType, ...frame } },
      { name: 'while/Enter_i', op: 'Enter', input: ['zero'], attr: { T: intType, ...frame } },
      { name: 'while/Enter_n', op: 'Enter', input: ['three'], attr: { T: intType, ...constant } },
      { name: 'while/Enter_two', op: 'Enter', input: ['two'], attr: { T: floatType, ...constant } },
      { name: 'while/Enter_one', op: 'Enter', input: ['one'], attr: { T: intType, ...constant } },
      { name: 'while/Merge_x', op: 'Merge', input: ['while/Enter_x', 'while/NextIteration_x'], attr: { T: floatType, N: { i: '2' } } },
      { name: 'while/Merge_i', op: 'Merge', input: ['while/Enter_i', 'while/NextIteration_i'], attr: { T: intType, N: { i: '2' } } },
      { name: 'while/Less', op: 'Less', input: ['while/Merge_i', 'while/Enter_n'], attr: { T: intType } },
      { name: 'while/LoopCond', op: 'LoopCond', input: ['while/Less'] },
      { name: 'while/Switch_x', op: 'Switch', input: ['while/Merge_x', 'while/LoopCond'], attr: { T: floatType } },
      { name: 'while/Switch_i', op: 'Switch', input: ['while/Merge_i', 'while/LoopCond'], attr: { T: intType } },
      { name: 'while/Identity_x', op: 'Identity', input: ['while/Switch_x:1'], attr: { T: floatType } },
      { name: 'while/Identity_i', op: 'Identity', input: ['while/Switch_i:1'], attr: { T: intType } },
      { name: 'while/mul', op: 'Mul', input: ['while/Identity_x', 'while/Enter_two'], attr: { T: floatType } },
      { name: 'while/add', op: 'AddV2', input: ['while/Identity_i', 'while/Enter_one'], attr: { T: intType } },
      { name: 'while/NextIteration_x', op: 'NextIteration', input: ['while/mul'], attr: { T: floatType } },
      { name: 'while/NextIteration_i', op: 'NextIteration', input: ['while/add'], attr: { T: intType } },
      { name: 'while/Exit_x', op: 'Exit', input: ['while/Switch_x'], attr: { T: floatType } },
      { name: 'y', op: 'Identity', input: ['while/Exit_x'], attr: { T: floatType } },
    ],
    [
      { name: 'zero', dtype: 'int32', values: [0] },
      { name: 'three', dtype: 'int32', values: [3] },
      { name: 'two', dtype: 'float32', values: [2] },
      { name: 'one', dtype: 'int32', values: [1] },
    ],
  );
}

/**
 * Four outputs of different shapes and values. The graph's own output order (its leaf nodes, in
 * node order) differs from the manifest's, as the published 4-output model's did.
 */
export function fourOutputGraph(): TfjsGraphModel {
  return graphModel(
    [
      { name: 'x', op: 'Placeholder', attr: { dtype: floatType, shape: { shape: { dim: [{ size: '2' }, { size: '3' }] } } } },
      { name: 'row_sums', op: 'Sum', input: ['x', 'axis_one'], attr: { T: floatType, Tidx: intType, keep_dims: { b: false } } },
      { name: 'negated', op: 'Neg', input: ['x'], attr: { T: floatType } },
      { name: 'column_max', op: 'Max', input: ['x', 'axis_zero'], attr: { T: floatType, Tidx: intType, keep_dims: { b: true } } },
      { name: 'squared', op: 'Square', input: ['x'], attr: { T: floatType } },
    ],
    [
      { name: 'axis_one', dtype: 'int32', values: [1] },
      { name: 'axis_zero', dtype: 'int32', values: [0] },
    ],
  );
}
