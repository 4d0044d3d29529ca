import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { defaultPreprocessing, serializeProbe, type Preprocessing, type ProbeTolerance, type TensorSpec } from '@edgeinfer/core';
import { defaultVariantName, describeModelFiles, fileEntry, probePathFor } from './describe-model.js';
import { invalidInput, readManifestFile, refused, writeManifestFile, type Editable, type EditableManifest } from './manifest-file.js';
import { quantizeVariant } from './quantize-variant.js';
import { computeProbe } from './reference-probe.js';
import type { ManifestVariant, ManifestVersion } from '@edgeinfer/core';

export interface AddOptions {
  readonly manifest: string;
  readonly model: string;
  readonly version: string;
  /** Model files (relative to the working directory or absolute); with `from`, the int8 file to write. */
  readonly files: readonly string[];
  /** Variant name; default from format and dtype (fp32, int8, tfjs, tfjs-uint8 ...). */
  readonly variant?: string;
  /** Quantize this (ONNX) variant of the same version into the new one, and record the report. */
  readonly from?: string;
  readonly mode?: 'static' | 'dynamic';
  readonly calibration?: string;
  /** With `from`: an existing report of a quantization already run (the file must exist too); skips the quantizer. */
  readonly report?: string;
  readonly latencyRuns?: number;
  readonly labels?: readonly string[];
  /** Whole, or only mean/std/invert (size and layout then come from the input shape). */
  readonly preprocessing?: Partial<Preprocessing>;
  readonly task?: string;
  readonly notes?: string;
  /** Publish the inputs / outputs under these names (in order) instead of the model's own (TF.js layer names are often input_1). */
  readonly inputNames?: readonly string[];
  readonly outputNames?: readonly string[];
  /** Compute the reference probe (default true). */
  readonly probe?: boolean;
  readonly tolerance?: ProbeTolerance;
  readonly log?: (line: string) => void;
}

export interface AddResult {
  readonly model: string;
  readonly version: string;
  readonly variant: string;
  readonly entry: Editable<ManifestVariant>;
  readonly probe?: string;
}

const sameSpec = (a: TensorSpec, b: TensorSpec) => a.name === b.name && a.dtype === b.dtype;

/**
 * Adds one variant of a version (creating the model and version as needed): sizes and SHA-256 are
 * computed, inputs and outputs read from the file, the probe computed in Node, the manifest
 * written atomically. A new model's first version becomes its stable one; later versions are only
 * listed until `canary` or `promote`.
 */
export async function addVariant(options: AddOptions): Promise<AddResult> {
  const manifestFile = resolve(options.manifest);
  const manifestDir = dirname(manifestFile);
  const manifest: EditableManifest = structuredClone(readManifestFile(manifestFile));
  const log = options.log ?? (() => undefined);
  const existingModel = manifest.models[options.model];
  const existingVersion = existingModel?.versions[options.version];
  if (existingModel?.revoked?.includes(options.version)) throw refused(`Version ${options.version} of "${options.model}" is revoked; publish a new version instead.`);

  let files = options.files.map((path) => resolve(path));
  let reportFile: string | undefined;
  if (options.from) {
    const source = existingVersion?.variants[options.from];
    if (!source) throw invalidInput(`--from ${options.from}: version ${options.version} of "${options.model}" has no variant "${options.from}". Add it first.`, { from: options.from });
    if (source.format !== 'onnx') throw invalidInput(`--from ${options.from}: the quantizer takes ONNX; "${options.from}" is ${source.format}.`, { from: options.from });
    const sourceFile = join(manifestDir, source.files[0]!.path);
    const target = files[0] ?? sourceFile.replace(/\.onnx$/i, `.${options.variant ?? 'int8'}.onnx`);
    if (options.report) {
      if (!existsSync(target)) throw invalidInput(`--report ${options.report} records a quantization already run, but ${target} does not exist.`, { file: target });
      reportFile = resolve(options.report);
    } else {
      log(`quantizing ${sourceFile} -> ${target}`);
      const quantized = await quantizeVariant({
        from: sourceFile,
        to: target,
        ...(options.mode ? { mode: options.mode } : {}),
        ...(options.calibration ? { calibration: options.calibration } : {}),
        ...(existingVersion?.preprocessing ? { preprocessing: existingVersion.preprocessing } : {}),
        ...(options.latencyRuns !== undefined ? { latencyRuns: options.latencyRuns } : {}),
      });
      reportFile = quantized.report;
    }
    files = [target];
  }

  const described = renamed(describeModelFiles(files), options);
  const variantName = options.variant ?? defaultVariantName(described.format, described.dtype);
  if (existingVersion?.variants[variantName]) {
    throw refused(`Version ${options.version} of "${options.model}" already has a variant "${variantName}". Published files are immutable (devices cache them by hash): add a new version, or another --variant name.`, {
      model: options.model,
      version: options.version,
      variant: variantName,
    });
  }
  if (existingVersion && described.format === 'onnx') checkSameIo(existingVersion, described.inputs, described.outputs, options, variantName);
  if (existingVersion && (existingVersion.inputs.length !== described.inputs.length || existingVersion.outputs.length !== described.outputs.length)) {
    throw invalidInput(`${variantName} has ${described.inputs.length} input(s) and ${described.outputs.length} output(s); version ${options.version} declares ${existingVersion.inputs.length} and ${existingVersion.outputs.length}.`);
  }

  const inputs = existingVersion?.inputs ?? described.inputs;
  const outputs = existingVersion?.outputs ?? described.outputs;
  const base = (existingVersion?.preprocessing as Preprocessing | undefined) ?? imagePreprocessing(inputs, described.format === 'onnx' ? 'NCHW' : 'NHWC', options.task);
  const preprocessing = options.preprocessing ? mergePreprocessing(base, options.preprocessing) : base;

  const entry: Editable<ManifestVariant> = {
    format: described.format,
    dtype: described.dtype,
    files: described.files.map((path) => fileEntry(path, manifestDir)),
  } as Editable<ManifestVariant>;

  let probePath: string | undefined;
  if (options.probe !== false) {
    log(`computing the reference probe of ${variantName}`);
    const probe = await computeProbe({
      format: described.format,
      files: described.files,
      inputs: inputs as TensorSpec[],
      outputs: outputs as TensorSpec[],
      ...(preprocessing ? { preprocessing } : {}),
      ...(options.tolerance ? { tolerance: options.tolerance } : {}),
    });
    probePath = probePathFor(described.files[0]!);
    writeFileSync(probePath, serializeProbe(probe));
    entry.probe = fileEntry(probePath, manifestDir);
  }
  if (options.from && reportFile) entry.quantization = { from: options.from, report: fileEntry(reportFile, manifestDir) };

  const version: Editable<ManifestVersion> = existingVersion ?? ({ inputs, outputs, variants: {} } as unknown as Editable<ManifestVersion>);
  if (preprocessing) version.preprocessing = preprocessing as Editable<Preprocessing>;
  if (options.notes) version.notes = options.notes;
  version.variants[variantName] = entry;

  const model = existingModel ?? { task: options.task ?? 'image-classification', channels: { stable: options.version }, versions: {} };
  if (options.task) model.task = options.task;
  if (options.labels?.length) model.labels = [...options.labels];
  model.versions[options.version] = version;
  manifest.models[options.model] = model as EditableManifest['models'][string];
  writeManifestFile(manifestFile, manifest);
  return { model: options.model, version: options.version, variant: variantName, entry, ...(probePath ? { probe: probePath } : {}) };
}

function checkSameIo(version: Editable<ManifestVersion>, inputs: TensorSpec[], outputs: TensorSpec[], options: AddOptions, variant: string) {
  const differs = (declared: readonly TensorSpec[], actual: TensorSpec[]) => declared.length !== actual.length || declared.some((spec, index) => !sameSpec(spec, actual[index]!));
  const describe = (specs: readonly TensorSpec[]) => specs.map((spec) => `${spec.name}:${spec.dtype}`).join(', ');
  if (differs(version.inputs as TensorSpec[], inputs) || differs(version.outputs as TensorSpec[], outputs)) {
    throw invalidInput(
      `${variant} has inputs [${describe(inputs)}] and outputs [${describe(outputs)}], but version ${options.version} of "${options.model}" declares [${describe(version.inputs as TensorSpec[])}] and [${describe(version.outputs as TensorSpec[])}]. Every variant of a version takes the same inputs; a different model is a new version.`,
    );
  }
}

function mergePreprocessing(base: Preprocessing | undefined, given: Partial<Preprocessing>): Preprocessing {
  const merged = { ...base, ...given } as Preprocessing;
  if (merged.width === undefined || merged.height === undefined || merged.channels === undefined || merged.layout === undefined) {
    throw invalidInput('--mean/--std need an image input of rank 4 to take the size and layout from; give the whole --preprocessing JSON instead.');
  }
  // One mean/std value for a 3-channel input applies to every channel.
  const perChannel = (values: readonly number[] | undefined, fallback: number) => (values && values.length === 1 && merged.channels === 3 ? [values[0]!, values[0]!, values[0]!] : (values ?? Array<number>(merged.channels).fill(fallback)));
  return { ...merged, mean: perChannel(merged.mean, 0), std: perChannel(merged.std, 1) };
}

function renamed(described: ReturnType<typeof describeModelFiles>, options: AddOptions) {
  const rename = (specs: TensorSpec[], names: readonly string[] | undefined, kind: string) => {
    if (!names) return specs;
    if (names.length !== specs.length) throw invalidInput(`--${kind}-names gives ${names.length} name(s); the model has ${specs.length} ${kind}(s).`);
    return specs.map((spec, index) => ({ ...spec, name: names[index]! }));
  };
  return { ...described, inputs: rename(described.inputs, options.inputNames, 'input'), outputs: rename(described.outputs, options.outputNames, 'output') };
}

/** An image classifier with a rank-4 input gets preprocessing from its shape (pixels in [0, 1]) unless told otherwise. */
function imagePreprocessing(inputs: readonly TensorSpec[], layout: 'NCHW' | 'NHWC', task: string | undefined): Preprocessing | undefined {
  const input = inputs[0];
  if ((task ?? 'image-classification') !== 'image-classification' || !input || input.shape.length !== 4) return undefined;
  return defaultPreprocessing(input, layout);
}
