import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isEdgeInferError, parseManifest, readOnnxGraphIo, type ManifestFile } from '@edgeinfer/core';
import type { EditableManifest } from './manifest-file.js';
import { schemaProblems } from './manifest-schema.js';

export interface ValidationProblem {
  /** The file at fault: a model file (as the manifest names it), or the manifest itself. */
  readonly file: string;
  /** JSON path of the field in the manifest. */
  readonly field: string;
  readonly message: string;
}

export interface ValidationResult {
  readonly ok: boolean;
  readonly problems: ValidationProblem[];
  /** Files checked (size and SHA-256). */
  readonly filesChecked: number;
}

const q = (name: string) => (/^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`);

/**
 * Everything CI should check before a manifest is published: the JSON Schema, the loader's own
 * cross-field checks, and that every file it names exists with its size and SHA-256 (model files,
 * probes, quantization reports), and that each ONNX file's graph still has the declared inputs
 * and outputs. Every problem names the file and the field.
 */
export function validateManifest(manifestPath: string): ValidationResult {
  const file = resolve(manifestPath);
  const problems: ValidationProblem[] = [];
  if (!existsSync(file)) return { ok: false, problems: [{ file: manifestPath, field: '(file)', message: 'does not exist' }], filesChecked: 0 };
  let manifest: EditableManifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as EditableManifest;
  } catch (error) {
    return { ok: false, problems: [{ file: manifestPath, field: '(file)', message: `is not JSON: ${(error as Error).message}` }], filesChecked: 0 };
  }
  for (const problem of schemaProblems(manifest)) problems.push({ file: manifestPath, ...problem });
  if (problems.length === 0) {
    try {
      parseManifest(manifest);
    } catch (error) {
      if (!isEdgeInferError(error)) throw error;
      const details = error.details as { path?: string; problem?: string };
      problems.push({ file: manifestPath, field: (details.path ?? 'manifest').replace(/^manifest\.?/, '') || '(manifest)', message: details.problem ?? error.message });
    }
  }
  const root = dirname(file);
  let filesChecked = 0;
  const checkFile = (entry: ManifestFile | undefined, field: string) => {
    if (!entry || typeof entry.path !== 'string') return;
    filesChecked++;
    const path = join(root, entry.path);
    if (!existsSync(path) || !statSync(path).isFile()) return void problems.push({ file: entry.path, field: `${field}.path`, message: `${entry.path} does not exist (looked in ${root})` });
    const bytes = readFileSync(path);
    if (bytes.byteLength !== entry.size) problems.push({ file: entry.path, field: `${field}.size`, message: `the file has ${bytes.byteLength} bytes, the manifest says ${entry.size}` });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== entry.sha256) problems.push({ file: entry.path, field: `${field}.sha256`, message: `the file's SHA-256 is ${sha256}, the manifest says ${entry.sha256}: the file changed after it was added (publish it as a new version)` });
    return bytes;
  };
  for (const [modelId, model] of Object.entries(manifest.models ?? {})) {
    for (const [versionId, version] of Object.entries(model?.versions ?? {})) {
      for (const [variantId, variant] of Object.entries(version?.variants ?? {})) {
        const field = `models${q(modelId)}.versions${q(versionId)}.variants${q(variantId)}`;
        (variant?.files ?? []).forEach((entry, index) => {
          const bytes = checkFile(entry, `${field}.files[${index}]`);
          if (bytes && index === 0 && variant.format === 'onnx' && !variant.encryption) checkOnnxIo(bytes, entry.path, version, `models${q(modelId)}.versions${q(versionId)}`, problems);
        });
        checkFile(variant?.probe, `${field}.probe`);
        checkFile(variant?.quantization?.report, `${field}.quantization.report`);
      }
    }
  }
  if (Object.keys(manifest.models ?? {}).length === 0) problems.push({ file: manifestPath, field: 'models', message: 'has no models yet: add one with `edgeinfer-models add <model> <version> <files...>`' });
  return { ok: problems.length === 0, problems, filesChecked };
}

function checkOnnxIo(bytes: Uint8Array, path: string, version: EditableManifest['models'][string]['versions'][string], field: string, problems: ValidationProblem[]) {
  let io;
  try {
    io = readOnnxGraphIo(bytes);
  } catch (error) {
    return void problems.push({ file: path, field, message: `is not a readable ONNX model: ${(error as Error).message}` });
  }
  for (const [kind, declared, actual] of [['inputs', version.inputs ?? [], io.inputs], ['outputs', version.outputs ?? [], io.outputs]] as const) {
    declared.forEach((spec, index) => {
      const found = actual.find((entry) => entry.name === spec?.name);
      if (!found) problems.push({ file: path, field: `${field}.${kind}[${index}].name`, message: `the graph has no ${kind.slice(0, -1)} "${spec?.name}" (it has ${actual.map((entry) => entry.name).join(', ')})` });
      else if (found.dtype !== spec.dtype) problems.push({ file: path, field: `${field}.${kind}[${index}].dtype`, message: `the graph's "${spec.name}" is ${found.dtype}, the manifest says ${spec.dtype}` });
    });
  }
}
