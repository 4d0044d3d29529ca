import { EdgeInferError } from './errors.js';
import type { ModelFormat, TensorSpec, VariantDtype } from './manifest.js';

/**
 * What a TF.js model.json says about itself: format, weight dtype, input and output specs, and the
 * weight files it names. Shared by the loader (bare model.json URLs), the demo and the release CLI.
 */

interface KerasLayer {
  class_name?: string;
  name?: string;
  config?: { name?: string; batch_input_shape?: (number | null)[]; units?: number; dtype?: string };
}

export interface TfjsModelJson {
  format?: string;
  modelTopology?: {
    model_config?: { config?: { layers?: KerasLayer[] } };
    config?: { layers?: KerasLayer[] } | KerasLayer[];
    node?: { name: string; op: string; attr?: { shape?: { shape?: { dim?: { size?: string }[] } } } }[];
  };
  signature?: {
    inputs?: Record<string, { name?: string; tensorShape?: { dim?: { size?: string }[] } }>;
    outputs?: Record<string, { name?: string; tensorShape?: { dim?: { size?: string }[] } }>;
  };
  weightsManifest?: { paths: string[]; weights: { dtype?: string; quantization?: { dtype?: string } }[] }[];
}

export interface TfjsModelDescription {
  readonly format: Extract<ModelFormat, 'tfjs-layers' | 'tfjs-graph'>;
  readonly dtype: VariantDtype;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** Weight file paths as model.json names them (relative to model.json). */
  readonly weightPaths: string[];
  /** Output units of a layers model's last layer, when it says. */
  readonly classes?: number;
}

const invalid = (message: string) => new EdgeInferError('engine/model-invalid', message);

/** A TF.js model.json has a modelTopology and a weightsManifest; a manifest has schemaVersion and models. */
export function isTfjsModelJson(json: unknown): json is TfjsModelJson {
  return typeof json === 'object' && json !== null && 'modelTopology' in json && Array.isArray((json as TfjsModelJson).weightsManifest);
}

const toDim = (size: number | string | null | undefined, axis: number): number | string => {
  const value = Number(size);
  return size !== null && size !== undefined && Number.isFinite(value) && value > 0 ? value : axis === 0 ? 'batch' : `dim${axis}`;
};

function layersOf(json: TfjsModelJson): KerasLayer[] {
  const topology = json.modelTopology ?? {};
  const config = topology.model_config?.config ?? topology.config;
  return Array.isArray(config) ? config : (config?.layers ?? []);
}

function inputOf(json: TfjsModelJson): TensorSpec {
  const withShape = layersOf(json).find((layer) => layer.config?.batch_input_shape);
  if (withShape?.config?.batch_input_shape) {
    const name = withShape.class_name === 'InputLayer' ? (withShape.config.name ?? withShape.name ?? 'input') : 'input';
    return { name, dtype: 'float32', shape: withShape.config.batch_input_shape.map(toDim) };
  }
  const signatureInput = Object.values(json.signature?.inputs ?? {})[0];
  const placeholder = json.modelTopology?.node?.find((node) => node.op === 'Placeholder');
  const dims = signatureInput?.tensorShape?.dim ?? placeholder?.attr?.shape?.shape?.dim;
  const name = signatureInput?.name?.replace(/:0$/, '') ?? placeholder?.name;
  if (!dims || !name) throw invalid('This model.json does not say its input shape (no batch_input_shape, signature or Placeholder).');
  return { name, dtype: 'float32', shape: dims.map((dim, axis) => toDim(dim.size, axis)) };
}

function dtypeOf(json: TfjsModelJson): VariantDtype {
  const quantized = json.weightsManifest?.flatMap((group) => group.weights).find((weight) => weight.quantization)?.quantization?.dtype;
  return quantized === 'uint8' ? 'uint8' : quantized === 'float16' ? 'float16' : 'float32';
}

/** Reads a parsed TF.js model.json; throws engine/model-invalid when it is not one. */
export function describeTfjsModel(json: unknown, name = 'model.json'): TfjsModelDescription {
  if (!isTfjsModelJson(json)) throw invalid(`${name} is not a TF.js model.json: it has no modelTopology and weightsManifest.`);
  const format = json.format === 'graph-model' ? 'tfjs-graph' : 'tfjs-layers';
  const classes = layersOf(json).at(-1)?.config?.units;
  const signatureOutput = Object.values(json.signature?.outputs ?? {})[0];
  const outputs: TensorSpec[] = signatureOutput?.name
    ? [{ name: signatureOutput.name.replace(/:0$/, ''), dtype: 'float32', shape: (signatureOutput.tensorShape?.dim ?? []).map((dim, axis) => toDim(dim.size, axis)) }]
    : [{ name: 'output', dtype: 'float32', shape: ['batch', classes ?? 'classes'] }];
  return {
    format,
    dtype: dtypeOf(json),
    inputs: [inputOf(json)],
    outputs,
    weightPaths: (json.weightsManifest ?? []).flatMap((group) => group.paths),
    ...(classes ? { classes } : {}),
  };
}
