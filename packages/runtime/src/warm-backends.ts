import { backendId, type Backend } from '@edgeinfer/core';

/**
 * `createEngine({ warm: ['ort-wasm'] })`: imports and instantiates those backends' libraries now,
 * before any load, for kiosks and apps that know they will load a model. A failure here is not the
 * app's: the load that needs the backend meets it (and falls back) as it would have anyway.
 */
export function warmBackends(backends: readonly Backend[], wanted: readonly string[] | undefined): void {
  if (!wanted?.length) return;
  for (const backend of backends) {
    if (wanted.includes(backendId(backend)) || wanted.includes(backend.name)) void backend.warm?.().catch(() => undefined);
  }
}
