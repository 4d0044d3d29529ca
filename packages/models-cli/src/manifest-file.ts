import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { EdgeInferError, isEdgeInferError, parseManifest, type Manifest } from '@edgeinfer/core';
import { schemaProblems } from './manifest-schema.js';

/** The manifest as plain JSON the commands edit (Manifest with the readonly taken off). */
export type Editable<T> = T extends readonly (infer U)[] ? Editable<U>[] : T extends object ? { -readonly [K in keyof T]: Editable<T[K]> } : T;
export type EditableManifest = Editable<Manifest>;

/** Where editors find the schema when the manifest does not say otherwise. */
export const DEFAULT_SCHEMA_URL = 'https://unpkg.com/@edgeinfer/models@0.1.0/manifest.schema.json';

export function refused(message: string, details: Record<string, unknown> = {}): EdgeInferError {
  return new EdgeInferError('release/refused', `${message} Nothing was written.`, { details });
}

export function invalidInput(message: string, details: Record<string, unknown> = {}): EdgeInferError {
  return new EdgeInferError('release/invalid-input', message, { details });
}

export function readManifestFile(path: string): EditableManifest {
  if (!existsSync(path)) throw invalidInput(`${path} does not exist. Create it with \`edgeinfer-models init --manifest ${path}\`.`, { file: path });
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as EditableManifest;
  } catch (cause) {
    throw new EdgeInferError('release/invalid-input', `${path} is not JSON: ${(cause as Error).message}.`, { details: { file: path }, cause });
  }
}

/** The JSON text the CLI writes: $schema first, two-space indent, a final newline (diff-friendly). */
export function manifestText(manifest: EditableManifest): string {
  const { $schema, schemaVersion, models, ...rest } = manifest;
  const ordered = Object.fromEntries(Object.entries(models ?? {}).map(([id, model]) => [id, orderModel(model)]));
  return `${JSON.stringify({ ...($schema ? { $schema } : {}), schemaVersion, models: ordered, ...rest }, null, 2)}\n`;
}

/** The same key order in every manifest the CLI writes, whatever order the commands set them in. */
function orderModel(model: EditableManifest['models'][string]): EditableManifest['models'][string] {
  const { task, labels, channels, revoked, stableHistory, versions, ...rest } = model;
  const ordered = Object.fromEntries(
    Object.entries(versions ?? {}).map(([id, { inputs, outputs, preprocessing, variants, notes, ...more }]) => [id, { inputs, outputs, ...(preprocessing ? { preprocessing } : {}), variants, ...(notes ? { notes } : {}), ...more }]),
  );
  return { task, ...(labels ? { labels } : {}), channels, ...(revoked ? { revoked } : {}), ...(stableHistory ? { stableHistory } : {}), versions: ordered as typeof versions, ...rest };
}

/** Refuses a manifest the schema or the cross-field checks reject, naming the field. */
export function assertValid(manifest: EditableManifest, file: string): void {
  const problems = schemaProblems(manifest);
  if (problems.length > 0) {
    throw refused(`The change would leave ${file} invalid: ${problems.map((problem) => `${problem.field}: ${problem.message}`).join('; ')}.`, { file, problems });
  }
  // A fresh manifest from `init` has no models yet: the loader would refuse it, but it is where `add` starts.
  if (Object.keys(manifest.models ?? {}).length === 0) return;
  try {
    parseManifest(manifest);
  } catch (error) {
    if (!isEdgeInferError(error, 'core/invalid-manifest')) throw error;
    throw refused(`The change would leave ${file} invalid: ${error.message}`, { file, ...error.details });
  }
}

/**
 * Writes the manifest atomically: a temporary file in the same directory, then rename(2), so a
 * server (or a crash) never sees half a manifest. Refuses to write an invalid one.
 */
export function writeManifestFile(path: string, manifest: EditableManifest): void {
  assertValid(manifest, path);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, manifestText(manifest));
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/** Read, change a copy, validate, write atomically; the change throws to refuse. */
export function updateManifest<T>(path: string, change: (manifest: EditableManifest) => T): { manifest: EditableManifest; result: T } {
  const manifest = structuredClone(readManifestFile(path));
  const result = change(manifest);
  writeManifestFile(path, manifest);
  return { manifest, result };
}

export function createManifest(options: { schema?: string } = {}): EditableManifest {
  return { $schema: options.schema ?? DEFAULT_SCHEMA_URL, schemaVersion: 1, models: {} } as EditableManifest;
}
