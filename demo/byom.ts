import { EdgeInferError, defaultPreprocessing, describeTfjsModel, isTfjsModelJson, readOnnxGraphIo, type Manifest, type ManifestVariant, type Preprocessing, type TensorSpec } from '@edgeinfer/core';
import { sha256Hex } from '@edgeinfer/loader';

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

function preprocessingFor(input: TensorSpec, preferredLayout: 'NCHW' | 'NHWC', normalization: Normalization): Preprocessing {
  if (input.shape.length !== 4) {
    throw invalid(`The model's input "${input.name}" has shape [${input.shape.join(', ')}]; the demo can feed only images, shape [batch, channels, height, width] or [batch, height, width, channels].`);
  }
  return defaultPreprocessing(input, preferredLayout, NORMALIZATIONS[normalization]);
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
  const io = readOnnxGraphIo(new Uint8Array(await file.arrayBuffer()));
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
  let json: unknown;
  try {
    json = JSON.parse(await modelJson.text());
  } catch (cause) {
    throw new EdgeInferError('engine/model-invalid', `${modelJson.name} is not JSON (${(cause as Error).message}).`, { cause });
  }
  if (!isTfjsModelJson(json)) throw invalid(`${modelJson.name} is not a TF.js model.json: it has no modelTopology and weightsManifest.`);
  const byName = new Map(weightFiles.map((file) => [file.name, file]));
  const groups = json.weightsManifest ?? [];
  const wanted = groups.flatMap((group) => group.paths);
  // Missing weight files first: that is what the user can fix by picking more files.
  const missing = wanted.filter((path) => !byName.has(path.split('/').pop()!));
  if (missing.length) throw invalid(`${modelJson.name} needs ${missing.join(', ')}: drop or pick the weight files together with model.json.`);
  const described = describeTfjsModel(json, modelJson.name);

  const weightEntries = new Map<string, Awaited<ReturnType<typeof describeFile>>>();
  for (const path of wanted) weightEntries.set(path, await describeFile(byName.get(path.split('/').pop()!)!, path, urls));
  // The backend finds weights by the paths model.json names, so model.json is rewritten to name the
  // manifest paths of the weight files.
  const rewritten = { ...json, weightsManifest: groups.map((group) => ({ ...group, paths: group.paths.map((path) => weightEntries.get(path)!.path) })) };
  const modelEntry = await describeFile(new Blob([JSON.stringify(rewritten)], { type: 'application/json' }), 'model.json', urls);
  const input = described.inputs[0]!;
  const preprocessing = preprocessingFor(input, 'NHWC', options.normalization);
  const variant: ManifestVariant = { format: described.format, dtype: described.dtype, files: [modelEntry, ...weightEntries.values()] };
  return { inputs: [input], outputs: described.outputs, preprocessing, variant, variantName: described.format, classes: described.classes };
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
