import { createOrtBackends } from '@edgeinfer/backend-ort';
import { createTfjsBackends } from '@edgeinfer/backend-tfjs';
import type { Backend } from '@edgeinfer/core';

/** Every backend edgeinfer ships; their libraries load lazily, only when a backend is tried. */
export function createDefaultBackends(options: { assetsBaseUrl?: string } = {}): Backend[] {
  return [...createOrtBackends(options), ...createTfjsBackends(options)];
}
