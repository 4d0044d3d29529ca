import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EdgeInferError, parseManifest } from '@edgeinfer/core';

/**
 * Revokes a model's canary in the manifest file, as `edgeinfer-models revoke` does for a canary
 * version: the canary channel goes, the version joins `revoked`, stable is untouched. Written with
 * a temporary file in the same directory and rename(2), so a device or the CLI never reads half a
 * file. This is a minimal local copy of that one case: the release CLI's library (@edgeinfer/models)
 * ships TypeScript sources only and pulls onnxruntime-node at import, which a built collector cannot load.
 */
export function revokeCanaryInFile(path: string, modelId: string, version: string): { readonly before: unknown; readonly after: unknown } {
  const text = readFileSync(path, 'utf8');
  const manifest = JSON.parse(text) as { models?: Record<string, Record<string, unknown>> };
  const model = manifest.models?.[modelId];
  const channels = model?.['channels'] as { stable: string; canary?: { version: string; percent: number } } | undefined;
  if (model === undefined || channels === undefined) throw new EdgeInferError('collector/guard', `The manifest ${path} has no model "${modelId}"; nothing was changed.`, { details: { path, model: modelId } });
  if (channels.canary?.version !== version) {
    throw new EdgeInferError('collector/guard', `The canary of "${modelId}" is ${channels.canary ? channels.canary.version : 'not set'}, not ${version} (the manifest changed since the comparison); nothing was changed.`, {
      details: { path, model: modelId, version, canary: channels.canary ?? null },
    });
  }
  const before = { channels: structuredClone(channels), revoked: structuredClone(model['revoked'] ?? []) };
  const revoked = [...new Set([...((model['revoked'] as string[] | undefined) ?? []), version])];
  // Key order as the CLI writes it: revoked right after channels.
  const rebuilt: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(model)) {
    if (key === 'revoked') continue;
    rebuilt[key] = key === 'channels' ? { stable: channels.stable } : value;
    if (key === 'channels') rebuilt['revoked'] = revoked;
  }
  manifest.models![modelId] = rebuilt;
  parseManifest(manifest);
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, `${JSON.stringify(manifest, null, 2)}\n`);
    renameSync(temporary, path);
  } catch (cause) {
    rmSync(temporary, { force: true });
    throw new EdgeInferError('collector/guard', `Could not write ${path}: ${(cause as Error).message}; the canary is still live.`, { cause, details: { path } });
  }
  return { before, after: { channels: { stable: channels.stable }, revoked } };
}
