import { EdgeInferError, type Manifest, type ManifestModel } from '@edgeinfer/core';

export type Channel = 'stable' | 'canary';

export interface VersionChoice {
  readonly version: string;
  readonly channel: Channel | 'pinned';
  /** Why this version: shown in model.info and the demo. */
  readonly reason: string;
}

/** FNV-1a: a stable, well-spread 32-bit hash; rollout needs stability, not secrecy. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The device's position in [0, 100): the same install and model always land in the same place. */
export function rolloutBucket(installId: string, modelId: string): number {
  return (fnv1a(`${installId}:${modelId}`) % 10_000) / 100;
}

export function findModel(manifest: Manifest, modelId: string): ManifestModel {
  const model = manifest.models[modelId];
  if (!model) {
    throw new EdgeInferError('loader/model-not-found', `The manifest has no model "${modelId}". Known models: ${Object.keys(manifest.models).join(', ')}.`, {
      details: { modelId, known: Object.keys(manifest.models) },
    });
  }
  return model;
}

export function chooseVersion(
  manifest: Manifest,
  modelId: string,
  options: { installId: string; version?: string; channel?: Channel },
): VersionChoice {
  const model = findModel(manifest, modelId);
  const revoked = new Set(model.revoked ?? []);
  if (options.version) {
    if (!(options.version in model.versions)) {
      throw new EdgeInferError('loader/model-not-found', `Model "${modelId}" has no version "${options.version}". Known: ${Object.keys(model.versions).join(', ')}.`, {
        details: { modelId, version: options.version },
      });
    }
    if (revoked.has(options.version)) {
      throw new EdgeInferError('loader/revoked', `Version ${options.version} of "${modelId}" is revoked; pin another version or use the stable channel.`, {
        details: { modelId, version: options.version },
      });
    }
    return { version: options.version, channel: 'pinned', reason: `pinned to ${options.version}` };
  }
  const canary = model.channels.canary;
  const stable = { version: model.channels.stable, channel: 'stable' as const };
  if (!canary || revoked.has(canary.version)) {
    return { ...stable, reason: canary ? `canary ${canary.version} is revoked; stable` : 'stable channel' };
  }
  if (options.channel === 'canary') return { version: canary.version, channel: 'canary', reason: 'canary channel requested' };
  if (options.channel === 'stable') return { ...stable, reason: 'stable channel requested' };
  const bucket = rolloutBucket(options.installId, modelId);
  return bucket < canary.percent
    ? { version: canary.version, channel: 'canary', reason: `in canary (${bucket.toFixed(2)} < ${canary.percent}%)` }
    : { ...stable, reason: `not in canary (${bucket.toFixed(2)} >= ${canary.percent}%)` };
}
