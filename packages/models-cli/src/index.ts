/**
 * @edgeinfer/models: the release tool behind `npx edgeinfer-models`. Every command is a function
 * here too: add versions and variants to a manifest (sizes, SHA-256, inputs/outputs and the
 * reference probe computed from the files), validate it, and roll versions out (canary, promote,
 * revoke, rollback), each change checked and written atomically.
 */
export { initManifest } from './init-manifest.js';
export { addVariant } from './add-variant.js';
export type { AddOptions, AddResult } from './add-variant.js';
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
export { defaultVariantName, describeModelFiles, probePathFor } from './describe-model.js';
export type { DescribedModel } from './describe-model.js';
export { computeProbe, probeInputs } from './reference-probe.js';
export type { ProbeRequest } from './reference-probe.js';
export { quantizeVariant } from './quantize-variant.js';
export type { QuantizeVariantOptions } from './quantize-variant.js';
export { runCli } from './cli.js';
export type { CliIo } from './cli.js';
