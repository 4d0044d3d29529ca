import { EdgeInferError, type Manifest, type ManifestVariant, type Preprocessing, type TensorSpec } from '@edgeinfer/core';
import { sha256Hex } from '@edgeinfer/loader';
import { readOnnxGraphIo } from './onnx-graph-io.js';

/** How pixels scaled to [0, 1] are normalised before they reach the model. */
export const NORMALIZATIONS = {
  unit: { label: 'Pixels in [0, 1]', mean: 0, std: 1 },
  symmetric: { label: 'Pixels in [-1, 1]', mean: 0.5, std: 0.5 },
  imagenet: { label: 'ImageNet mean/std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
} as const;
export type Normalization = keyof typeof NORMALIZATIONS;

export interface ByomOptions {
  readonly normalization: Normalization;
  /** Class names in output order; "class N" where missing. */
  readonly labels?: readonly string[];
}

export interface ByomModel {
  /** A blob: URL of the in-memory manifest: load it with `${manifestUrl}#${modelId}`. */
  readonly manifestUrl: string;
  readonly modelId: string;
  readonly name: string;
  /** One line for people: format, input, layout. */
  readonly summary: string;
  /** Frees the blob: URLs (after the model is loaded, or when another model replaces it). */
  revoke(): void;
}

const MODEL_ID = 'byom';

function invalid(message: string): EdgeInferError {
  return new EdgeInferError('engine/model-invalid', message);
}

/** The image layout of a rank-4 input: channels (1 or 3) second means NCHW, last means NHWC. */
function preprocessingFor(input: TensorSpec, preferredLayout: 'NCHW' | 'NHWC', normalization: Normalization): Preprocessing {
  if (input.shape.length !== 4) {
    throw invalid(`The model's input "${input.name}" has shape [${input.shape.join(', ')}]; the demo can feed only images, shape [batch, channels, height, width] or [batch, height, width, channels].`);
  }
  const isChannels = (dim: unknown) => dim === 1 || dim === 3;
  const layout = isChannels(input.shape[1]) && !isChannels(input.shape[3]) ? 'NCHW' : isChannels(input.shape[3]) && !isChannels(input.shape[1]) ? 'NHWC' : preferredLayout;
  const [channelsDim, heightDim, widthDim] = layout === 'NCHW' ? [input.shape[1], input.shape[2], input.shape[3]] : [input.shape[3], input.shape[1], input.shape[2]];
  const channels = channelsDim === 1 ? 1 : 3;
  // A dynamic height/width (a named dim) gets the usual 224.
  const size = (dim: unknown) => (typeof dim === 'number' && dim > 0 ? dim : 224);
  const preset = NORMALIZATIONS[normalization];
  const perChannel = (value: number | readonly number[]) =>
    typeof value === 'number' ? Array<number>(channels).fill(value) : channels === 1 ? [value.reduce((sum, v) => sum + v, 0) / value.length] : [...value];
  return { width: size(widthDim), height: size(heightDim), channels, layout, mean: perChannel(preset.mean), std: perChannel(preset.std) };
}

interface KerasLayer {
  class_name?: string;
  name?: string;
  config?: { name?: string; batch_input_shape?: (number | null)[]; units?: number; dtype?: string };
}

interface TfjsModelJson {
  format?: string;
  modelTopology?: {
    model_config?: { config?: { layers?: KerasLayer[] } };
    config?: { layers?: KerasLayer[] } | KerasLayer[];
    node?: { name: string; op: string; attr?: { shape?: { shape?: { dim?: { size?: string }[] } } } }[];
  };
  signature?: { inputs?: Record<string, { name?: string; tensorShape?: { dim?: { size?: string }[] } }> };
  weightsManifest?: { paths: string[]; weights: { dtype?: string; quantization?: { dtype?: string } }[] }[];
}

const toDim = (size: number | string | null | undefined, axis: number): number | string => {
  const value = Number(size);
  return size !== null && size !== undefined && Number.isFinite(value) && value > 0 ? value : axis === 0 ? 'batch' : `dim${axis}`;
};

function tfjsInput(json: TfjsModelJson): TensorSpec {
  const topology = json.modelTopology ?? {};
  const config = topology.model_config?.config ?? topology.config;
  const layers = Array.isArray(config) ? config : (config?.layers ?? []);
  const withShape = layers.find((layer) => layer.config?.batch_input_shape);
  if (withShape?.config?.batch_input_shape) {
    const name = withShape.class_name === 'InputLayer' ? (withShape.config.name ?? withShape.name ?? 'input') : 'input';
    return { name, dtype: 'float32', shape: withShape.config.batch_input_shape.map(toDim) };
  }
  const signatureInput = Object.values(json.signature?.inputs ?? {})[0];
  const placeholder = topology.node?.find((node) => node.op === 'Placeholder');
  const dims = signatureInput?.tensorShape?.dim ?? placeholder?.attr?.shape?.shape?.dim;
  const name = signatureInput?.name?.replace(/:0$/, '') ?? placeholder?.name;
  if (!dims || !name) throw invalid('This model.json does not say its input shape (no batch_input_shape, signature or Placeholder).');
  return { name, dtype: 'float32', shape: dims.map((dim, axis) => toDim(dim.size, axis)) };
}

function variantDtype(json: TfjsModelJson): ManifestVariant['dtype'] {
  const quantized = json.weightsManifest?.flatMap((group) => group.weights).find((weight) => weight.quantization)?.quantization?.dtype;
  return quantized === 'uint8' ? 'uint8' : quantized === 'float16' ? 'float16' : 'float32';
}

async function describeFile(blob: Blob, name: string, urls: string[]): Promise<{ path: string; size: number; sha256: string }> {
  const url = URL.createObjectURL(blob);
  urls.push(url);
  // The #name keeps the manifest readable and lets the loader see which file is the entry
  // (".onnx" / "model.json"); a blob: URL resolves the same with a fragment.
  return { path: `${url}#${encodeURIComponent(name)}`, size: blob.size, sha256: await sha256Hex(await blob.arrayBuffer()) };
}

function labelsFor(count: number | undefined, given: readonly string[] | undefined): string[] | undefined {
  const labels = given?.filter((label) => label.trim()).map((label) => label.trim());
  if (labels?.length) return labels;
  return count && count > 1 && count <= 10_000 ? Array.from({ length: count }, (_, index) => `class ${index}`) : undefined;
}

async function onnxVariant(file: File, options: ByomOptions, urls: string[]) {
  const io = await readOnnxGraphIo(new Uint8Array(await file.arrayBuffer()));
  const input = io.inputs[0];
  if (!input) throw invalid(`${file.name} has no graph input to feed.`);
  if (io.inputs.length > 1) throw invalid(`${file.name} has ${io.inputs.length} inputs (${io.inputs.map((spec) => spec.name).join(', ')}); the demo feeds one image input.`);
  if (input.dtype !== 'float32') throw invalid(`${file.name} takes ${input.dtype} input; the demo feeds float32 images.`);
  const preprocessing = preprocessingFor(input, 'NCHW', options.normalization);
  const classes = io.outputs[0]?.shape.at(-1);
  const variant: ManifestVariant = { format: 'onnx', dtype: 'float32', files: [await describeFile(file, file.name, urls)] };
  return { inputs: [input], outputs: io.outputs, preprocessing, variant, variantName: 'onnx', classes: typeof classes === 'number' ? classes : undefined };
}

async function tfjsVariant(modelJson: File, weightFiles: File[], options: ByomOptions, urls: string[]) {
  let json: TfjsModelJson;
  try {
    json = JSON.parse(await modelJson.text()) as TfjsModelJson;
  } catch (cause) {
    throw new EdgeInferError('engine/model-invalid', `${modelJson.name} is not JSON (${(cause as Error).message}).`, { cause });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw invalid(`${modelJson.name} is not a TF.js model.json: it has no modelTopology and weightsManifest.`);
  const format = json.format === 'graph-model' ? 'tfjs-graph' : 'tfjs-layers';
  const byName = new Map(weightFiles.map((file) => [file.name, file]));
  const wanted = json.weightsManifest.flatMap((group) => group.paths);
  const missing = wanted.filter((path) => !byName.has(path.split('/').pop()!));
  if (missing.length) throw invalid(`${modelJson.name} needs ${missing.join(', ')}: drop or pick the weight files together with model.json.`);

  const weightEntries = new Map<string, Awaited<ReturnType<typeof describeFile>>>();
  for (const path of wanted) weightEntries.set(path, await describeFile(byName.get(path.split('/').pop()!)!, path, urls));
  // The backend finds weights by the paths model.json names, so model.json is rewritten to name the
  // manifest paths of the weight files.
  const rewritten = { ...json, weightsManifest: json.weightsManifest.map((group) => ({ ...group, paths: group.paths.map((path) => weightEntries.get(path)!.path) })) };
  const modelEntry = await describeFile(new Blob([JSON.stringify(rewritten)], { type: 'application/json' }), 'model.json', urls);
  const input = tfjsInput(json);
  const preprocessing = preprocessingFor(input, 'NHWC', options.normalization);
  const variant: ManifestVariant = { format, dtype: variantDtype(json), files: [modelEntry, ...weightEntries.values()] };
  const lastLayer = (json.modelTopology.model_config?.config?.layers ?? []).at(-1) ?? (Array.isArray(json.modelTopology.config) ? undefined : json.modelTopology.config?.layers?.at(-1));
  const classes = lastLayer?.config?.units;
  return { inputs: [input], outputs: [{ name: 'output', dtype: 'float32' as const, shape: ['batch', classes ?? 'classes'] }], preprocessing, variant, variantName: format, classes };
}

/**
 * Builds an in-memory manifest for a model the user brought: an .onnx file, or a TF.js model.json
 * with its weight files. Files are served to the engine's worker as blob: URLs (same origin).
 */
export async function createByomModel(files: readonly File[], options: ByomOptions): Promise<ByomModel> {
  const onnxFile = files.find((file) => file.name.toLowerCase().endsWith('.onnx'));
  const modelJson = files.find((file) => file.name.toLowerCase().endsWith('.json'));
  if (!onnxFile && !modelJson) {
    throw invalid(`Bring an .onnx file, or a TF.js model.json with its weight files (got ${files.map((file) => file.name).join(', ') || 'no files'}).`);
  }
  const urls: string[] = [];
  try {
    const built = onnxFile
      ? await onnxVariant(onnxFile, options, urls)
      : await tfjsVariant(modelJson!, files.filter((file) => file !== modelJson), options, urls);
    const labels = labelsFor(built.classes, options.labels);
    const entryHash = built.variant.files[0]!.sha256;
    // Distinct files get distinct versions, so the cache never mixes two brought models.
    const version = `0.0.0-${entryHash.slice(0, 12)}`;
    const manifest: Manifest = {
      schemaVersion: 1,
      models: {
        [MODEL_ID]: {
          task: 'image-classification',
          ...(labels ? { labels } : {}),
          channels: { stable: version },
          versions: { [version]: { inputs: built.inputs, outputs: built.outputs, preprocessing: built.preprocessing, variants: { [built.variantName]: built.variant } } },
        },
      },
    };
    const manifestUrl = URL.createObjectURL(new Blob([JSON.stringify(manifest)], { type: 'application/json' }));
    urls.push(manifestUrl);
    const input = built.inputs[0]!;
    const name = (onnxFile ?? modelJson)!.name;
    const pre = built.preprocessing;
    return {
      manifestUrl,
      modelId: MODEL_ID,
      name,
      summary: `${built.variant.format} (${built.variant.dtype}), input "${input.name}" [${input.shape.join(', ')}] ${pre.layout}, ${pre.width}×${pre.height}×${pre.channels}, ${labels?.length ?? '?'} classes`,
      revoke: () => urls.forEach((url) => URL.revokeObjectURL(url)),
    };
  } catch (error) {
    urls.forEach((url) => URL.revokeObjectURL(url));
    throw error;
  }
}
