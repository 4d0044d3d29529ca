import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { EdgeInferError} from '../src/index.js';
import { parseManifest } from '../src/index.js';

const shipped = JSON.parse(readFileSync(new URL('../../../models/manifest.json', import.meta.url), 'utf8'));

function errorOf(json: unknown): EdgeInferError {
  try {
    parseManifest(json);
  } catch (error) {
    return error as EdgeInferError;
  }
  throw new Error('expected the manifest to be rejected');
}

describe('manifest schema', () => {
  it('accepts the manifest the project ships', () => {
    expect(Object.keys(parseManifest(shipped).models)).toContain('fashion-mnist');
  });

  it('names the exact path of a wrong field', () => {
    const broken = structuredClone(shipped);
    broken.models['fashion-mnist'].versions['1.0.0'].variants.fp32.files[0].sha256 = 'abc';
    const error = errorOf(broken);
    expect(error.code).toBe('core/invalid-manifest');
    expect(error.details.path).toBe('manifest.models["fashion-mnist"].versions["1.0.0"].variants["fp32"].files[0].sha256');
  });

  it('rejects a stable channel that points at a missing or revoked version', () => {
    const missing = structuredClone(shipped);
    missing.models['fashion-mnist'].channels.stable = '9.9.9';
    expect(errorOf(missing).details.path).toBe('manifest.models["fashion-mnist"].channels.stable');
    const revoked = structuredClone(shipped);
    revoked.models['fashion-mnist'].revoked = ['1.0.0'];
    expect(errorOf(revoked).message).toMatch(/revoked/);
  });

  it('rejects a canary percentage out of range', () => {
    const broken = structuredClone(shipped);
    broken.models['fashion-mnist'].channels.canary = { version: '1.0.0', percent: 140 };
    expect(errorOf(broken).details.path).toBe('manifest.models["fashion-mnist"].channels.canary.percent');
  });
});
