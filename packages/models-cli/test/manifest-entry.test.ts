import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isEdgeInferError } from '@edgeinfer/core';
import { revoke } from '../src/manifest.js';
import { cli, readJson, releaseDir } from './release-fixture.js';

const collectorDir = fileURLToPath(new URL('../../collector/', import.meta.url));

/**
 * Imports `specifier` in a fresh Node process, as a built server does (dist, no `source` condition),
 * and counts the CommonJS modules of onnxruntime-node and TF.js it loaded (Node puts a CommonJS module
 * imported from ESM in require.cache).
 */
function heavyModulesLoadedBy(specifier: string): number {
  const script = `import { createRequire } from 'node:module';
await import(${JSON.stringify(specifier)});
process.stdout.write('\\n' + String(Object.keys(createRequire(import.meta.url).cache).filter((path) => /onnxruntime-node|@tensorflow/.test(path)).length));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: collectorDir, encoding: 'utf8' });
  // The count is the last line, written as text (console.log would colour a number under FORCE_COLOR).
  return Number(output.trim().split('\n').at(-1));
}

describe('@edgeinfer/models/manifest', () => {
  it('edits manifests without loading onnxruntime-node or TF.js, so the built collector can import it', () => {
    expect(heavyModulesLoadedBy('@edgeinfer/models')).toBeGreaterThan(0);
    expect(heavyModulesLoadedBy('@edgeinfer/models/manifest')).toBe(0);
    expect(heavyModulesLoadedBy('@edgeinfer/collector')).toBe(0);
  });

  it('revokes only the live canary when asked to, and writes nothing when the canary changed', async () => {
    const release = releaseDir();
    expect((await cli('init', '-m', release.manifest)).code).toBe(0);
    for (const version of ['1.0.0', '1.1.0', '1.2.0']) expect((await cli('add', 'fashion', version, release.path(`fashion/1.1.0/model.onnx`), '-m', release.manifest)).code).toBe(0);
    expect((await cli('canary', 'fashion', '1.2.0', '10', '-m', release.manifest)).code).toBe(0);
    const before = readFileSync(release.manifest, 'utf8');
    let refusal: unknown;
    try {
      revoke({ manifest: release.manifest, model: 'fashion', version: '1.1.0', onlyCanary: true });
    } catch (error) {
      refusal = error;
    }
    expect(isEdgeInferError(refusal, 'release/refused')).toBe(true);
    expect((refusal as Error).message).toContain('The canary of "fashion" is 1.2.0, not 1.1.0');
    expect(readFileSync(release.manifest, 'utf8')).toBe(before);

    const { manifest } = revoke({ manifest: release.manifest, model: 'fashion', version: '1.2.0', onlyCanary: true });
    expect(manifest.models['fashion']!.channels).toEqual({ stable: '1.0.0' });
    expect(readJson(release.manifest).models.fashion.revoked).toEqual(['1.2.0']);
  });
});
