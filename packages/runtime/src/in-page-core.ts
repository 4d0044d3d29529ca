import type { Backend } from '@edgeinfer/core';
import { createEngineCore, type EngineCore } from '@edgeinfer/engine';
import { createLoader } from '@edgeinfer/loader';

export function createInPageCore(backends: Backend[]): EngineCore {
  return createEngineCore({ backends, loader: createLoader() });
}
