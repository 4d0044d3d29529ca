/**
 * @edgeinfer/models/manifest: the manifest-editing half of the release tool (init, list, validate,
 * canary, promote, revoke, rollback), importable by a server such as the collector's canary guard.
 * It imports nothing that loads onnxruntime-node, TF.js or the quantizer; those are needed only by
 * `add` (file description, reference probe, quantization), which the main entry exports.
 */
export { initManifest } from './init-manifest.js';
export { listModels, renderListing } from './list-models.js';
export type { VersionListing } from './list-models.js';
export { validateManifest } from './validate-manifest.js';
export type { ValidationProblem, ValidationResult } from './validate-manifest.js';
export { backendsOf, missingBackends, promote, revoke, rollback, setCanary } from './rollout-commands.js';
export type { RevokeOptions, RolloutOptions } from './rollout-commands.js';
export { DEFAULT_SCHEMA_URL, createManifest, manifestText, readManifestFile, updateManifest, writeManifestFile } from './manifest-file.js';
export type { Editable, EditableManifest } from './manifest-file.js';
export { SCHEMA_PATH, manifestSchema, schemaProblems, validateAgainst } from './manifest-schema.js';
export type { JsonSchema, SchemaProblem } from './manifest-schema.js';
