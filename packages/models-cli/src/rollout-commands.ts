import type { ManifestVariant } from '@edgeinfer/core';
import { invalidInput, refused, updateManifest, type EditableManifest } from './manifest-file.js';

/**
 * Rollout changes: each reads the manifest, checks the change, and writes it atomically, or throws
 * release/refused and writes nothing. Devices pick a change up at their next manifest check; a
 * device joins a canary by a stable hash of its install id (packages/loader/src/rollout.ts), so
 * raising the percentage only ever adds devices.
 */

type Model = EditableManifest['models'][string];

function modelOf(manifest: EditableManifest, modelId: string): Model {
  const model = manifest.models[modelId];
  if (!model) throw invalidInput(`The manifest has no model "${modelId}". Known: ${Object.keys(manifest.models).join(', ') || 'none'}.`, { model: modelId });
  return model;
}

function versionOf(model: Model, modelId: string, version: string) {
  const entry = model.versions[version];
  if (!entry) throw invalidInput(`"${modelId}" has no version ${version}. Known: ${Object.keys(model.versions).join(', ')}. Add it with \`edgeinfer-models add\`.`, { model: modelId, version });
  if (model.revoked?.includes(version)) throw refused(`Version ${version} of "${modelId}" is revoked.`, { model: modelId, version });
  return entry;
}

/** The backends a variant can run on (what selection in the engine would try). */
export function backendsOf(variant: Pick<ManifestVariant, 'format' | 'dtype'>): string[] {
  if (variant.format === 'onnx') {
    if (variant.dtype === 'int8' || variant.dtype === 'uint8') return ['ort-wasm'];
    if (variant.dtype === 'float16') return ['ort-webgpu'];
    return ['ort-webgpu', 'ort-wasm'];
  }
  return ['tfjs-webgl', 'tfjs-wasm', 'tfjs-cpu'];
}

/** Backends the current stable version serves that `version` would not: devices there would lose the model. */
export function missingBackends(model: Model, version: string): { backend: string; stableVariant: string }[] {
  const stable = model.versions[model.channels.stable];
  const candidate = model.versions[version];
  if (!stable || !candidate) return [];
  const offered = new Set(Object.values(candidate.variants).flatMap(backendsOf));
  const missing = new Map<string, string>();
  for (const [name, variant] of Object.entries(stable.variants)) {
    for (const backend of backendsOf(variant)) if (!offered.has(backend) && !missing.has(backend)) missing.set(backend, name);
  }
  return [...missing].map(([backend, stableVariant]) => ({ backend, stableVariant }));
}

function checkCoverage(model: Model, modelId: string, version: string, action: string, force: boolean) {
  const missing = missingBackends(model, version);
  if (missing.length === 0 || force) return;
  throw refused(
    `Cannot ${action} ${version} of "${modelId}": stable ${model.channels.stable} runs on ${missing.map((entry) => `${entry.backend} (variant ${entry.stableVariant})`).join(', ')}, and ${version} has no variant for ${missing.length === 1 ? 'it' : 'them'}; devices on ${missing.length === 1 ? 'that backend' : 'those backends'} could not load it. Add the variant (\`edgeinfer-models add ${modelId} ${version} ... --variant ${missing[0]!.stableVariant}\`), or pass --force.`,
    { model: modelId, version, missing },
  );
}

export interface RolloutOptions {
  readonly manifest: string;
  /** Skip the backend-coverage check. */
  readonly force?: boolean;
}

/** Puts `version` on the canary channel for `percent` % of devices (0 keeps it listed but reaches nobody). */
export function setCanary(options: RolloutOptions & { model: string; version: string; percent: number }) {
  if (!Number.isFinite(options.percent) || options.percent < 0 || options.percent > 100) {
    throw refused(`Canary percent must be a number from 0 to 100; got ${JSON.stringify(options.percent)}.`, { percent: options.percent });
  }
  return updateManifest(options.manifest, (manifest) => {
    const model = modelOf(manifest, options.model);
    versionOf(model, options.model, options.version);
    if (model.channels.stable === options.version) throw refused(`${options.version} is already the stable version of "${options.model}"; a canary is for a version that is not.`, { version: options.version });
    checkCoverage(model, options.model, options.version, 'start a canary of', options.force ?? false);
    const previous = model.channels.canary;
    model.channels.canary = { version: options.version, percent: options.percent };
    return { previous };
  });
}

/**
 * Makes `version` stable in one write (blue-green): every device switches at its next manifest
 * check, and the previous stable stays listed (and cached on devices) in stableHistory, so
 * `rollback` needs no download.
 */
export function promote(options: RolloutOptions & { model: string; version: string }) {
  return updateManifest(options.manifest, (manifest) => {
    const model = modelOf(manifest, options.model);
    versionOf(model, options.model, options.version);
    const previous = model.channels.stable;
    if (previous === options.version) throw refused(`${options.version} is already the stable version of "${options.model}".`, { version: options.version });
    checkCoverage(model, options.model, options.version, 'promote', options.force ?? false);
    model.stableHistory = [...(model.stableHistory ?? []).filter((entry) => entry !== previous && entry !== options.version), previous];
    // A canary of another version keeps running beside the new stable.
    const canary = model.channels.canary?.version === options.version ? undefined : model.channels.canary;
    model.channels = { stable: options.version, ...(canary ? { canary } : {}) };
    return { previous };
  });
}

/** The stable version to go back to: the latest earlier stable that is neither revoked nor `except`. */
function previousStable(model: Model, except: string): string | undefined {
  const revoked = new Set(model.revoked ?? []);
  return [...(model.stableHistory ?? [])].reverse().find((version) => version !== except && !revoked.has(version) && version in model.versions);
}

function goBackTo(model: Model, target: string) {
  const history = model.stableHistory ?? [];
  model.stableHistory = history.slice(0, history.lastIndexOf(target));
  if (model.stableHistory.length === 0) delete model.stableHistory;
  model.channels = { ...model.channels, stable: target };
}

/**
 * Revokes a version: no device may run it. Canary devices go back to stable; if it is the stable
 * version, stable goes back to the previous one. Refused when it is the only stable version.
 */
export interface RevokeOptions extends RolloutOptions {
  readonly model: string;
  readonly version: string;
  /**
   * Revoke only if `version` is the model's live canary, else refuse and write nothing: for a caller
   * that decided on a comparison of that canary (the collector's canary guard), when the manifest
   * may have changed since.
   */
  readonly onlyCanary?: boolean;
}

export function revoke(options: RevokeOptions) {
  return updateManifest(options.manifest, (manifest) => {
    const model = modelOf(manifest, options.model);
    if (options.onlyCanary === true && model.channels.canary?.version !== options.version) {
      throw refused(`The canary of "${options.model}" is ${model.channels.canary ? model.channels.canary.version : 'not set'}, not ${options.version} (the manifest changed since).`, {
        model: options.model,
        version: options.version,
        canary: model.channels.canary ?? null,
      });
    }
    versionOf(model, options.model, options.version);
    let newStable: string | undefined;
    if (model.channels.stable === options.version) {
      newStable = previousStable(model, options.version);
      if (!newStable) {
        throw refused(`${options.version} is the only stable version of "${options.model}" (no earlier stable to go back to): revoking it would leave devices nothing to run. Promote another version first.`, {
          model: options.model,
          version: options.version,
        });
      }
      goBackTo(model, newStable);
    }
    if (model.channels.canary?.version === options.version) model.channels = { stable: model.channels.stable };
    model.revoked = [...(model.revoked ?? []), options.version];
    if (model.stableHistory) model.stableHistory = model.stableHistory.filter((entry) => entry !== options.version);
    return { stable: model.channels.stable, ...(newStable ? { rolledBackTo: newStable } : {}) };
  });
}

/** Stable goes back to the previous stable version (the current one stays listed: it can be promoted again). */
export function rollback(options: RolloutOptions & { model: string }) {
  return updateManifest(options.manifest, (manifest) => {
    const model = modelOf(manifest, options.model);
    const from = model.channels.stable;
    const target = previousStable(model, from);
    if (!target) throw refused(`"${options.model}" has no earlier stable version to roll back to (stable is ${from}; nothing was promoted before it).`, { model: options.model });
    goBackTo(model, target);
    if (model.channels.canary?.version === target) model.channels = { stable: target };
    return { from, to: target };
  });
}
