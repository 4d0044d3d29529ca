import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createManifest, refused, writeManifestFile, type EditableManifest } from './manifest-file.js';

/** Writes a new, empty manifest (refuses to overwrite one unless `force`). */
export function initManifest(options: { manifest: string; schema?: string; force?: boolean }): EditableManifest {
  const path = resolve(options.manifest);
  if (existsSync(path) && !options.force) throw refused(`${options.manifest} already exists; pass --force to replace it with an empty manifest.`, { file: options.manifest });
  mkdirSync(dirname(path), { recursive: true });
  const manifest = createManifest(options.schema ? { schema: options.schema } : {});
  writeManifestFile(path, manifest);
  return manifest;
}
