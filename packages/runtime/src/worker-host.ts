import type { Backend } from '@edgeinfer/core';
import { createEngineCore, exposeEngineCore } from '@edgeinfer/engine/worker';
import { createLoader } from '@edgeinfer/loader';
import { warmBackends } from './warm-backends.js';
import { readWorkerConfig } from './worker-config.js';

/** Starts the engine inside a worker entry with that entry's backends. */
export function hostEngine(createBackends: (options: { assetsBaseUrl?: string }) => Backend[]): void {
  const { assetsBaseUrl, warm } = readWorkerConfig((globalThis as { name?: string }).name ?? '');
  const backends = createBackends(assetsBaseUrl ? { assetsBaseUrl } : {});
  // The device probe needs no model: it runs while the page is still on its way to load().
  const core = createEngineCore({ backends, loader: createLoader(), probeAhead: true });
  exposeEngineCore(core);
  warmBackends(backends, warm);
}
