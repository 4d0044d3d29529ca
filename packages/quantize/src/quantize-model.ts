import { EdgeInferError } from '@edgeinfer/core';
import { calibrateRanges, type CalibrationMethod, type Feeds } from './calibration.js';
import {
  DataType,
  createTensor,
  decodeModel,
  defaultDomainOpset,
  encodeModel,
  ensureQdqOpset,
  floatAttribute,
  intAttr,
  intAttribute,
  onnx,
  readFloat32,
  tensorDims,
  type GraphProto,
  type NodeProto,
  type TensorProto,
} from './onnx-model.js';
import { quantizeBias, quantizePerChannel, uint8Params, type ActivationRange, type PerChannelInt8 } from './per-channel-quantization.js';

/**
 * - `static`: int8 weights and uint8 activations, QDQ format, activation ranges from calibration data.
 * - `dynamic`: int8 weights only (int8 initializers + per-channel DequantizeLinear); activations stay
 *   float32 and no calibration is needed. A runtime either folds the DequantizeLinear into float32
 *   weights once at load or quantizes activations itself (onnxruntime's dynamic kernels).
 */
export type QuantizationMode = 'static' | 'dynamic';

export interface QuantizeOptions {
  readonly mode?: QuantizationMode;
  /** Sample inputs for static mode, one entry per run (a batch), keyed by graph input name. */
  readonly calibration?: readonly Feeds[];
  readonly calibrationMethod?: CalibrationMethod;
  /** For calibrationMethod 'percentile' (default 99.99). */
  readonly percentile?: number;
  /** Node names to leave in float32. */
  readonly excludeNodes?: readonly string[];
}

export interface QuantizedNode {
  readonly name: string;
  readonly opType: string;
  /** The weight initializer stored as int8, with the per-channel axis of its DequantizeLinear. */
  readonly weight?: { readonly name: string; readonly axis: number; readonly channels: number };
  readonly int32Bias?: boolean;
}

export interface Float32Node {
  readonly name: string;
  readonly opType: string;
  readonly reason: string;
}

export interface QuantizationSummary {
  readonly mode: QuantizationMode;
  readonly opset: number;
  readonly weights: 'int8 per-channel symmetric';
  readonly activations: string;
  readonly calibration?: { readonly method: CalibrationMethod; readonly batches: number; readonly tensors: number };
  readonly sizeBytes: { readonly float32: number; readonly int8: number };
  /** int8 size / float32 size. */
  readonly sizeRatio: number;
  readonly quantizedNodes: readonly QuantizedNode[];
  readonly float32Nodes: readonly Float32Node[];
  readonly warnings: readonly string[];
}

export interface QuantizeResult {
  readonly model: Uint8Array;
  readonly report: QuantizationSummary;
}

interface WeightRule {
  readonly weightInput: number;
  readonly biasInput?: number;
  /** Per-channel axis of the weight (output channels). */
  readonly axis: (node: NodeProto, dims: readonly number[]) => number;
}

const WEIGHT_OPS: Readonly<Record<string, WeightRule>> = {
  Conv: { weightInput: 1, biasInput: 2, axis: () => 0 },
  // Gemm computes A * B' (transB=1, B is [N, K]) or A * B (B is [K, N]); output channels are N.
  Gemm: { weightInput: 1, biasInput: 2, axis: (node) => (intAttribute(node, 'transB', 0) === 1 ? 0 : 1) },
  MatMul: { weightInput: 1, axis: (_node, dims) => Math.max(0, dims.length - 1) },
};

/** Which inputs are activations for ops that get QDQ around them in static mode. */
const ACTIVATION_INPUTS: Readonly<Record<string, readonly number[] | 'all'>> = {
  Conv: [0],
  Gemm: [0, 1],
  MatMul: [0, 1],
  Add: [0, 1],
  Mul: [0, 1],
  Relu: [0],
  Clip: [0],
  MaxPool: [0],
  AveragePool: [0],
  GlobalAveragePool: [0],
  Flatten: [0],
  Reshape: [0],
  Transpose: [0],
  Concat: 'all',
};

/**
 * Relu and Clip right after a quantized op get QDQ only on their output: onnxruntime then removes
 * them (their clamp is inside the output's uint8 range) and fuses Conv + Q into one integer kernel.
 */
const REMOVABLE_ACTIVATIONS = new Set(['Relu', 'Clip']);

/** Ops that carry no arithmetic worth quantizing: no warning when they stay float32. */
const PASSIVE_OPS = new Set(['Constant', 'Identity', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Cast', 'Dropout', 'ConstantOfShape']);

export async function quantizeModel(bytes: Uint8Array, options: QuantizeOptions = {}): Promise<QuantizeResult> {
  const mode = options.mode ?? 'static';
  const model = decodeModel(bytes);
  const warnings: string[] = [];
  const opsetWarning = ensureQdqOpset(model);
  if (opsetWarning) warnings.push(opsetWarning);
  if (mode === 'static' && (options.calibration ?? []).length === 0) {
    throw new EdgeInferError('quantize/invalid-data', "Static quantization needs calibration inputs: pass options.calibration (or use mode 'dynamic').");
  }

  const graph = model.graph as GraphProto;
  const plan = planQuantization(graph, mode, new Set(options.excludeNodes ?? []));
  warnings.push(...plan.float32Nodes.filter((node) => !PASSIVE_OPS.has(node.opType)).map((node) => `node "${node.name}" (${node.opType}) stays float32: ${node.reason}`));

  let ranges = new Map<string, ActivationRange>();
  if (mode === 'static') {
    ranges = await calibrateRanges(model, [...plan.activations], options.calibration ?? [], {
      method: options.calibrationMethod ?? 'minmax',
      ...(options.percentile === undefined ? {} : { percentile: options.percentile }),
    });
    for (const name of plan.activations) {
      if (!ranges.has(name)) warnings.push(`tensor "${name}" produced no float32 values during calibration; left unquantized`);
    }
  }

  const quantizedNodes = rewriteGraph(graph, plan, ranges, mode);
  const output = encodeModel(model);
  return {
    model: output,
    report: {
      mode,
      opset: defaultDomainOpset(model),
      weights: 'int8 per-channel symmetric',
      activations: mode === 'static' ? 'uint8 asymmetric per-tensor (QDQ, calibrated)' : 'float32 at run time (weights-only int8)',
      ...(mode === 'static'
        ? { calibration: { method: options.calibrationMethod ?? 'minmax', batches: options.calibration?.length ?? 0, tensors: ranges.size } }
        : {}),
      sizeBytes: { float32: bytes.byteLength, int8: output.byteLength },
      sizeRatio: output.byteLength / bytes.byteLength,
      quantizedNodes,
      float32Nodes: plan.float32Nodes,
      warnings,
    },
  };
}

interface Plan {
  /** Node index -> weight to quantize (initializer name and axis). */
  readonly weights: Map<number, { readonly name: string; readonly axis: number }>;
  /** Node indexes that get QDQ activations (static mode). */
  readonly quantizedNodes: Set<number>;
  readonly activations: Set<string>;
  readonly float32Nodes: Float32Node[];
}

function planQuantization(graph: GraphProto, mode: QuantizationMode, excluded: ReadonlySet<string>): Plan {
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const nodes = graph.node ?? [];
  const constants = new Set(nodes.filter((node) => node.opType === 'Constant').flatMap((node) => node.output ?? []));
  const graphOutputs = new Set((graph.output ?? []).map((output) => output.name ?? ''));
  const floatInputs = new Set((graph.input ?? []).filter((input) => input.type?.tensorType?.elemType === DataType.FLOAT).map((input) => input.name ?? ''));
  const isActivation = (name: string): boolean => name !== '' && !initializers.has(name) && !constants.has(name);
  const producedBy = new Set(nodes.flatMap((node) => node.output ?? []));
  const consumers = new Map<string, NodeProto[]>();
  for (const node of nodes) for (const input of node.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  const feedsOnlyRemovableActivations = (name: string): boolean =>
    !graphOutputs.has(name) && (consumers.get(name) ?? []).every((node) => REMOVABLE_ACTIVATIONS.has(node.opType ?? '') && !excluded.has(node.name ?? ''));

  const plan: Plan = { weights: new Map(), quantizedNodes: new Set(), activations: new Set(), float32Nodes: [] };
  nodes.forEach((node, index) => {
    const opType = node.opType ?? '';
    const name = node.name || `${opType}_${index}`;
    if (excluded.has(name)) {
      plan.float32Nodes.push({ name, opType, reason: 'excluded by options.excludeNodes' });
      return;
    }
    const rule = WEIGHT_OPS[opType];
    const weightName = rule ? (node.input ?? [])[rule.weightInput] ?? '' : '';
    const weight = initializers.get(weightName);
    if (rule && weight) {
      if (weight.dataType !== DataType.FLOAT) {
        plan.float32Nodes.push({ name, opType, reason: `its weight "${weightName}" is not float32` });
        return;
      }
      plan.weights.set(index, { name: weightName, axis: rule.axis(node, tensorDims(weight)) });
    } else if (rule && !isActivation(weightName)) {
      plan.float32Nodes.push({ name, opType, reason: `its weight "${weightName}" is not an initializer` });
      return;
    } else if (rule && mode === 'dynamic') {
      plan.float32Nodes.push({ name, opType, reason: 'both operands are activations; dynamic mode quantizes weights only' });
      return;
    }

    const activationInputs = ACTIVATION_INPUTS[opType];
    if (!activationInputs) {
      plan.float32Nodes.push({ name, opType, reason: 'the quantizer has no int8 rule for this op' });
      return;
    }
    if (mode !== 'static') return;
    plan.quantizedNodes.add(index);
    const inputs = node.input ?? [];
    const indexes = activationInputs === 'all' ? inputs.map((_input, i) => i) : REMOVABLE_ACTIVATIONS.has(opType) ? [] : activationInputs;
    for (const i of indexes) {
      const input = inputs[i] ?? '';
      if (i === rule?.weightInput && plan.weights.has(index)) continue;
      if (isActivation(input) && (producedBy.has(input) || floatInputs.has(input))) plan.activations.add(input);
    }
    const output = (node.output ?? [])[0];
    // Graph outputs stay float32 so apps read the same logits tensor as before.
    if (output && !graphOutputs.has(output) && !feedsOnlyRemovableActivations(output)) plan.activations.add(output);
  });
  return plan;
}

function rewriteGraph(graph: GraphProto, plan: Plan, ranges: ReadonlyMap<string, ActivationRange>, mode: QuantizationMode): QuantizedNode[] {
  const initializers = new Map((graph.initializer ?? []).map((tensor) => [tensor.name ?? '', tensor]));
  const usedNames = new Set([...initializers.keys(), ...(graph.node ?? []).flatMap((node) => [...(node.input ?? []), ...(node.output ?? []), node.name ?? ''])]);
  const unique = (base: string): string => {
    let name = base;
    for (let i = 1; usedNames.has(name); i += 1) name = `${base}_${i}`;
    usedNames.add(name);
    return name;
  };

  const newInitializers: TensorProto[] = [];
  const prologue: NodeProto[] = [];
  const dequantizeNode = (input: string, scale: string, zeroPoint: string, output: string, axis?: number): NodeProto =>
    onnx.NodeProto.create({
      name: unique(`${output}_DequantizeLinear`),
      opType: 'DequantizeLinear',
      input: [input, scale, zeroPoint],
      output: [output],
      attribute: axis === undefined ? [] : [intAttr('axis', axis)],
    });

  // Weights: one int8 copy per (initializer, axis), shared by every node that uses it.
  const quantizedWeights = new Map<string, { output: string; quantized: PerChannelInt8 }>();
  const weightFor = (name: string, axis: number): { output: string; quantized: PerChannelInt8 } => {
    const key = `${name}\u0000${axis}`;
    const existing = quantizedWeights.get(key);
    if (existing) return existing;
    const tensor = initializers.get(name) as TensorProto;
    const dims = tensorDims(tensor);
    const quantized = quantizePerChannel(readFloat32(tensor), dims, axis);
    const channels = quantized.scales.length;
    const valuesName = unique(`${name}_quantized`);
    const scaleName = unique(`${name}_scale`);
    const zeroPointName = unique(`${name}_zero_point`);
    newInitializers.push(
      createTensor(valuesName, DataType.INT8, dims, quantized.values),
      createTensor(scaleName, DataType.FLOAT, [channels], quantized.scales),
      createTensor(zeroPointName, DataType.INT8, [channels], new Int8Array(channels)),
    );
    const output = unique(`${name}_dequantized`);
    prologue.push(dequantizeNode(valuesName, scaleName, zeroPointName, output, axis));
    const entry = { output, quantized };
    quantizedWeights.set(key, entry);
    return entry;
  };

  // Activations: one QuantizeLinear -> DequantizeLinear pair right after the producer.
  const activationParams = new Map<string, { scale: number; zeroPoint: number; output: string }>();
  const activationNodes = (name: string): NodeProto[] => {
    const range = ranges.get(name);
    if (!range) return [];
    const { scale, zeroPoint } = uint8Params(range);
    const scaleName = unique(`${name}_scale`);
    const zeroPointName = unique(`${name}_zero_point`);
    newInitializers.push(
      createTensor(scaleName, DataType.FLOAT, [], Float32Array.of(scale)),
      createTensor(zeroPointName, DataType.UINT8, [], Uint8Array.of(zeroPoint)),
    );
    const quantizedName = unique(`${name}_quantized`);
    const output = unique(`${name}_dequantized`);
    activationParams.set(name, { scale, zeroPoint, output });
    return [
      onnx.NodeProto.create({ name: unique(`${name}_QuantizeLinear`), opType: 'QuantizeLinear', input: [name, scaleName, zeroPointName], output: [quantizedName] }),
      dequantizeNode(quantizedName, scaleName, zeroPointName, output),
    ];
  };

  const body: NodeProto[] = [];
  for (const input of graph.input ?? []) {
    if (plan.activations.has(input.name ?? '')) body.push(...activationNodes(input.name ?? ''));
  }
  const quantizedNodes: QuantizedNode[] = [];
  const remainingFloatUses = new Map<string, number>();
  (graph.node ?? []).forEach((node, index) => {
    const inputs = [...(node.input ?? [])];
    // Every consumer reads the dequantized activation, so onnxruntime can fuse the QDQ groups.
    for (let i = 0; i < inputs.length; i += 1) {
      const params = activationParams.get(inputs[i] ?? '');
      if (params) inputs[i] = params.output;
    }
    const weight = plan.weights.get(index);
    let int32Bias = false;
    if (weight) {
      const rule = WEIGHT_OPS[node.opType ?? ''] as WeightRule;
      const { output, quantized } = weightFor(weight.name, weight.axis);
      inputs[rule.weightInput] = output;
      const biasName = rule.biasInput === undefined ? undefined : inputs[rule.biasInput];
      const inputParams = activationParams.get((node.input ?? [])[0] ?? '');
      if (mode === 'static' && biasName && inputParams && floatAttribute(node, 'beta', 1) === 1) {
        const biasOutput = quantizeBiasInput(biasName, initializers, inputParams.scale, quantized, newInitializers, prologue, unique, dequantizeNode);
        if (biasOutput) {
          inputs[rule.biasInput as number] = biasOutput;
          int32Bias = true;
        }
      }
      quantizedNodes.push({
        name: node.name ?? '',
        opType: node.opType ?? '',
        weight: { name: weight.name, axis: weight.axis, channels: quantized.scales.length },
        ...(int32Bias ? { int32Bias } : {}),
      });
    } else if (plan.quantizedNodes.has(index) && WEIGHT_OPS[node.opType ?? '']) {
      quantizedNodes.push({ name: node.name ?? '', opType: node.opType ?? '' });
    }
    for (const input of inputs) if (initializers.has(input)) remainingFloatUses.set(input, (remainingFloatUses.get(input) ?? 0) + 1);
    node.input = inputs;
    body.push(node);
    for (const output of node.output ?? []) {
      if (plan.activations.has(output)) body.push(...activationNodes(output));
    }
  });

  // Float32 initializers that no node reads any more (replaced by int8 copies) are dropped.
  const graphInputs = new Set((graph.input ?? []).map((input) => input.name ?? ''));
  graph.initializer = [...(graph.initializer ?? []).filter((tensor) => remainingFloatUses.has(tensor.name ?? '') || graphInputs.has(tensor.name ?? '')), ...newInitializers];
  graph.node = [...prologue, ...body];
  return quantizedNodes;
}

function quantizeBiasInput(
  biasName: string,
  initializers: ReadonlyMap<string, TensorProto>,
  inputScale: number,
  weight: PerChannelInt8,
  newInitializers: TensorProto[],
  prologue: NodeProto[],
  unique: (base: string) => string,
  dequantizeNode: (input: string, scale: string, zeroPoint: string, output: string, axis?: number) => NodeProto,
): string | undefined {
  const tensor = initializers.get(biasName);
  if (!tensor || tensor.dataType !== DataType.FLOAT) return undefined;
  const dims = tensorDims(tensor);
  if (dims.length !== 1 || dims[0] !== weight.scales.length) return undefined;
  const bias = quantizeBias(readFloat32(tensor), inputScale, weight.scales);
  if (!bias) return undefined;
  const valuesName = unique(`${biasName}_quantized`);
  const scaleName = unique(`${biasName}_scale`);
  const zeroPointName = unique(`${biasName}_zero_point`);
  newInitializers.push(
    createTensor(valuesName, DataType.INT32, dims, bias.values),
    createTensor(scaleName, DataType.FLOAT, dims, bias.scales),
    createTensor(zeroPointName, DataType.INT32, dims, new Int32Array(dims[0] as number)),
  );
  const output = unique(`${biasName}_dequantized`);
  prologue.push(dequantizeNode(valuesName, scaleName, zeroPointName, output, 0));
  return output;
}
