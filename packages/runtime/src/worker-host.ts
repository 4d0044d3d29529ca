import type { Backend } from '@edgeinfer/core';
import { createEngineCore, exposeEngineCore } from '@edgeinfer/engine/worker';
import { createLoader } from '@edgeinfer/loader';
import { readWorkerConfig } from './worker-config.js';

/** Starts the engine inside a worker entry with that entry's backends. */
export function hostEngine(createBackends: (options: { assetsBaseUrl?: string }) => Backend[]): void {
  const { assetsBaseUrl } = readWorkerConfig((globalThis as { name?: string }).name ?? '');
  exposeEngineCore(createEngineCore({ backends: createBackends(assetsBaseUrl ? { assetsBaseUrl } : {}), loader: createLoader() }));
}
