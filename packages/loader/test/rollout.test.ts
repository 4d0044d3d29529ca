import { readFileSync } from 'node:fs';
import { parseManifest } from '@edgeinfer/core';
import { describe, expect, it } from 'vitest';
import { chooseVersion, rolloutBucket } from '../src/index.js';

const manifest = parseManifest(JSON.parse(readFileSync(new URL('../../../models/manifest.json', import.meta.url), 'utf8')));

function withCanary(percent: number, revoked: string[] = []) {
  const copy = structuredClone(manifest) as { models: Record<string, { channels: unknown; revoked?: string[] }> };
  copy.models['fashion-mnist']!.channels = { stable: '1.0.0', canary: { version: '1.1.0', percent } };
  copy.models['fashion-mnist']!.revoked = revoked;
  return parseManifest(copy);
}

describe('canary rollout', () => {
  it('keeps a device in the same bucket across reloads', () => {
    expect(rolloutBucket('device-a', 'fashion-mnist')).toBe(rolloutBucket('device-a', 'fashion-mnist'));
  });

  it('with the canary at 30%, 30 +- 3% of 1,000 install ids are in it, and each id always gets the same answer', () => {
    // Fixed ids, so the test cannot flake; the hash spreads them like random ones.
    const ids = Array.from({ length: 1000 }, (_, i) => `install-${i}-${(i * 2654435761) % 4294967296}`);
    const answers = ids.map((installId) => chooseVersion(withCanary(30), 'fashion-mnist', { installId }).version);
    const share = answers.filter((version) => version === '1.1.0').length / ids.length;
    expect(share).toBeGreaterThanOrEqual(0.27);
    expect(share).toBeLessThanOrEqual(0.33);
    ids.forEach((installId, index) => expect(chooseVersion(withCanary(30), 'fashion-mnist', { installId }).version).toBe(answers[index]));
  });

  it('raising the percentage keeps earlier canary devices in the canary', () => {
    const ids = Array.from({ length: 500 }, (_, i) => `id-${i}`);
    const at10 = ids.filter((id) => chooseVersion(withCanary(10), 'fashion-mnist', { installId: id }).channel === 'canary');
    const at50 = new Set(ids.filter((id) => chooseVersion(withCanary(50), 'fashion-mnist', { installId: id }).channel === 'canary'));
    expect(at10.every((id) => at50.has(id))).toBe(true);
  });

  it('never serves a revoked canary: devices go back to stable', () => {
    const choice = chooseVersion(withCanary(100, ['1.1.0']), 'fashion-mnist', { installId: 'x' });
    expect(choice.version).toBe('1.0.0');
    expect(choice.reason).toMatch(/revoked/);
  });

  it('pins a version or a channel on request, and refuses a revoked pin', () => {
    expect(chooseVersion(withCanary(0), 'fashion-mnist', { installId: 'x', version: '1.1.0' }).channel).toBe('pinned');
    expect(chooseVersion(withCanary(0), 'fashion-mnist', { installId: 'x', channel: 'canary' }).version).toBe('1.1.0');
    expect(() => chooseVersion(withCanary(0, ['1.1.0']), 'fashion-mnist', { installId: 'x', version: '1.1.0' })).toThrowError(/revoked/);
  });
});
