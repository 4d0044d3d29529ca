import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// An operator who runs `npm install @edgeinfer/collector` must not get onnxruntime-node and TF.js
// (~400 MB, and onnxruntime-node's install script): only the release CLI's `add` needs them, and the
// canary guard reaches the release CLI through an optional peer.
const PACKAGES = new URL('../../', import.meta.url);
const HEAVY = /^(onnxruntime-node|@tensorflow\/)/;

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

const workspace = new Map<string, Manifest>(
  readdirSync(PACKAGES).map((folder) => {
    const manifest = JSON.parse(readFileSync(new URL(`${folder}/package.json`, PACKAGES), 'utf8')) as Manifest;
    return [manifest.name, manifest];
  }),
);
const manifestOf = (name: string): Manifest => workspace.get(name)!;

/** Every package npm installs with `name`: dependencies and non-optional peers, transitively within the workspace. */
function installed(name: string, seen = new Set<string>()): Set<string> {
  if (seen.has(name)) return seen;
  seen.add(name);
  if (!workspace.has(name)) return seen;
  const manifest = manifestOf(name);
  const required = Object.keys(manifest.peerDependencies ?? {}).filter((peer) => manifest.peerDependenciesMeta?.[peer]?.optional !== true);
  for (const dependency of [...Object.keys(manifest.dependencies ?? {}), ...required]) installed(dependency, seen);
  return seen;
}

describe('@edgeinfer/collector install', () => {
  it('brings neither onnxruntime-node nor TF.js, and offers the release CLI as an optional peer for the guard', () => {
    const heavy = [...installed('@edgeinfer/collector')].filter((name) => HEAVY.test(name));
    expect(heavy).toEqual([]);
    const collector = manifestOf('@edgeinfer/collector');
    expect(collector.peerDependencies?.['@edgeinfer/models']).toBeDefined();
    expect(collector.peerDependenciesMeta?.['@edgeinfer/models']?.optional).toBe(true);
    // The check itself sees the heavy ones where they are.
    expect([...installed('@edgeinfer/models')].some((name) => HEAVY.test(name))).toBe(true);
  });
});
