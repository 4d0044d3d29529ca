export { createLoader, cacheKeyOf, entryFile } from './loader.js';
export type { FetchVariantRequest, LoadedFiles, LoadPhase, LoadProgress, Loader, LoaderOptions, ResolveRequest, ResolvedModel } from './loader.js';
export type { CachedModelRecord } from './chunked-store.js';
export { chooseVersion, rolloutBucket } from './rollout.js';
export type { Channel, VersionChoice } from './rollout.js';
export type { DecryptionKey } from './encryption.js';
export { sha256Hex } from './sha256.js';
export { bareOptionsOf } from './bare-model.js';
export type { BareModelOptions, BareModelRecord, BareResolution } from './bare-model.js';
