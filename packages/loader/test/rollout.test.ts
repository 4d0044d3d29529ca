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

  it('puts about the configured share of devices into the canary', () => {
    const inCanary = Array.from({ length: 5000 }, (_, i) => chooseVersion(withCanary(20), 'fashion-mnist', { installId: `install-${i}` })).filter(
      (choice) => choice.channel === 'canary',
    ).length;
    expect(inCanary / 5000).toBeGreaterThan(0.17);
    expect(inCanary / 5000).toBeLessThan(0.23);
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
