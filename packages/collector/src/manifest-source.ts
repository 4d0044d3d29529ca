import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { EdgeInferError, isEdgeInferError, parseManifest } from '@edgeinfer/core';

export interface ServedManifest {
  /** The JSON the devices get (file paths made absolute against baseUrl when one is set). */
  readonly body: string;
  readonly etag: string;
  /** When the file this came from was read. */
  readonly readAt: number;
}

export interface ManifestSourceOptions {
  /** The manifest file the release CLI (`edgeinfer-models`) writes; replaced atomically by rename. */
  readonly path: string;
  /**
   * Where the model files live, when not beside the collector's manifest URL: relative file paths
   * are resolved against it (e.g. `https://cdn.example.com/models/`), as the loader resolves them
   * against the manifest's own URL otherwise.
   */
  readonly baseUrl?: string;
}

export interface ManifestSource {
  readonly path: string;
  /** The current manifest; re-read when the file changed (new inode, size or mtime). */
  current(): Promise<ServedManifest>;
}

type Json = Record<string, unknown>;

function absolutize(manifest: Json, baseUrl: string): Json {
  const copy = structuredClone(manifest);
  const fix = (file: unknown) => {
    if (typeof file === 'object' && file !== null && typeof (file as Json)['path'] === 'string') (file as Json)['path'] = new URL(String((file as Json)['path']), baseUrl).href;
  };
  for (const model of Object.values((copy['models'] ?? {}) as Record<string, Json>)) {
    for (const version of Object.values((model['versions'] ?? {}) as Record<string, Json>)) {
      for (const variant of Object.values((version['variants'] ?? {}) as Record<string, Json>)) {
        for (const file of (variant['files'] as unknown[] | undefined) ?? []) fix(file);
        fix(variant['probe']);
        fix((variant['quantization'] as Json | undefined)?.['report']);
      }
    }
  }
  return copy;
}

/**
 * Serves the manifest from a file. A file that is missing, not JSON or not a valid manifest never
 * reaches devices: the last good one stays served (a half-edited file by hand, a bad deploy), and
 * with none the answer is 503 collector/manifest.
 */
export function createManifestSource(options: ManifestSourceOptions): ManifestSource {
  let lastGood: ServedManifest | null = null;
  let stamp = '';
  let lastError: EdgeInferError | null = null;
  const load = async (): Promise<void> => {
    let text: string;
    let now: string;
    try {
      const info = await stat(options.path);
      now = `${info.ino}:${info.size}:${info.mtimeMs}`;
      if (now === stamp) return;
      text = await readFile(options.path, 'utf8');
    } catch (cause) {
      lastError = new EdgeInferError('collector/manifest', `The manifest file ${options.path} cannot be read: ${(cause as Error).message}.`, { cause, details: { path: options.path } });
      return;
    }
    try {
      const parsed = JSON.parse(text) as Json;
      parseManifest(parsed);
      const body = `${JSON.stringify(options.baseUrl === undefined ? parsed : absolutize(parsed, options.baseUrl), null, 2)}\n`;
      lastGood = { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`, readAt: Date.now() };
      lastError = null;
      stamp = now;
    } catch (cause) {
      const reason = isEdgeInferError(cause) ? cause.message : `it is not JSON (${(cause as Error).message})`;
      lastError = new EdgeInferError('collector/manifest', `The manifest file ${options.path} is not served: ${reason}`, { cause, details: { path: options.path } });
      // Not remembered as read: the next request tries again (the file may be mid-edit).
    }
  };
  return {
    path: options.path,
    async current() {
      await load();
      if (lastGood === null) throw lastError ?? new EdgeInferError('collector/manifest', `The manifest file ${options.path} has not been read yet.`);
      return lastGood;
    },
  };
}
