import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { describeTfjsModel, isTfjsModelJson, readOnnxGraphIo, type ManifestFile, type ModelFormat, type TensorSpec, type VariantDtype } from '@edgeinfer/core';
import { invalidInput } from './manifest-file.js';

/** What `add` reads from model files: format, dtype, I/O, and the files in the order the loader wants (entry first). */
export interface DescribedModel {
  readonly format: ModelFormat;
  readonly dtype: VariantDtype;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** Absolute paths; the entry (.onnx or model.json) first, then the weight files in model.json order. */
  readonly files: string[];
  readonly classes?: number;
}

export function fileEntry(absolutePath: string, manifestDir: string): ManifestFile {
  const bytes = readFileSync(absolutePath);
  return { path: manifestPath(absolutePath, manifestDir), size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The path as the manifest writes it: relative to the manifest, with forward slashes; files outside it are refused. */
export function manifestPath(absolutePath: string, manifestDir: string): string {
  const path = relative(manifestDir, absolutePath);
  if (path.startsWith('..') || resolve(manifestDir, path) !== resolve(absolutePath)) {
    throw invalidInput(`${absolutePath} is outside ${manifestDir}: model files are published beside the manifest (paths are relative to its URL). Move the file under ${manifestDir}.`, {
      file: absolutePath,
    });
  }
  return path.split(sep).join('/');
}

/** Detects the format by content: ONNX protobuf, or a TF.js model.json (its weight files found from its weightsManifest). */
export function describeModelFiles(paths: readonly string[]): DescribedModel {
  if (paths.length === 0) throw invalidInput('Give the model files: an .onnx file, or a TF.js model.json (its weight files are found from it).');
  for (const path of paths) {
    if (!existsSync(path) || !statSync(path).isFile()) throw invalidInput(`${path} does not exist or is not a file.`, { file: path });
  }
  const modelJson = paths.find((path) => path.endsWith('.json') && isTfjsModelJson(safeJson(path)));
  if (modelJson) return describeTfjs(modelJson, paths);
  const onnx = paths.find((path) => path.toLowerCase().endsWith('.onnx')) ?? (paths.length === 1 ? paths[0] : undefined);
  if (!onnx) throw invalidInput(`None of ${paths.join(', ')} is an .onnx file or a TF.js model.json.`, { files: [...paths] });
  if (paths.length > 1) throw invalidInput(`An ONNX variant is one .onnx file; got ${paths.join(', ')}. Add other files as variants of their own.`, { files: [...paths] });
  let io;
  try {
    io = readOnnxGraphIo(readFileSync(onnx));
  } catch (error) {
    throw invalidInput(`${onnx}: ${(error as Error).message}`, { file: onnx });
  }
  return { format: 'onnx', dtype: io.dtype, inputs: io.inputs, outputs: io.outputs, files: [resolve(onnx)] };
}

function safeJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function describeTfjs(modelJson: string, given: readonly string[]): DescribedModel {
  const described = describeTfjsModel(safeJson(modelJson), modelJson);
  const weights = described.weightPaths.map((path) => resolve(dirname(modelJson), path));
  const missing = weights.filter((path) => !existsSync(path));
  if (missing.length) throw invalidInput(`${modelJson} names weight files that do not exist: ${missing.join(', ')}.`, { file: modelJson, missing });
  const extra = given.map((path) => resolve(path)).filter((path) => path !== resolve(modelJson) && !weights.includes(path));
  if (extra.length) throw invalidInput(`${extra.map((path) => basename(path)).join(', ')} ${extra.length === 1 ? 'is' : 'are'} not named by ${modelJson}'s weightsManifest.`, { file: modelJson, extra });
  return { format: described.format, dtype: described.dtype, inputs: described.inputs, outputs: described.outputs, files: [resolve(modelJson), ...weights], ...(described.classes ? { classes: described.classes } : {}) };
}

/** The usual variant name for a format and dtype: fp32, int8, fp16, tfjs, tfjs-uint8 ... */
export function defaultVariantName(format: ModelFormat, dtype: VariantDtype): string {
  const short: Record<VariantDtype, string> = { float32: 'fp32', float16: 'fp16', int8: 'int8', uint8: 'uint8' };
  if (format === 'onnx') return short[dtype];
  return dtype === 'float32' ? 'tfjs' : `tfjs-${short[dtype]}`;
}

/** Where the probe of a variant goes: beside its entry file, `<entry>.probe.json`. */
export function probePathFor(entry: string): string {
  const name = basename(entry).replace(/\.(onnx|json)$/i, '');
  return join(dirname(entry), `${name}.probe.json`);
}
