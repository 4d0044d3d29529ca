import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseManifest, parseProbe } from '@edgeinfer/core';
import { schemaProblems } from '../src/index.js';
import { LABELS, MODELS, cli, readJson, releaseDir } from './release-fixture.js';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

async function withV1(options: { tfjs?: boolean } = {}) {
  const release = releaseDir();
  expect((await cli('init', '-m', release.manifest)).code).toBe(0);
  const add = await cli('add', 'fashion', '1.0.0', release.path('fashion/1.0.0/model.onnx'), '-m', release.manifest, '--labels', LABELS, '--mean', '0.286', '--std', '0.353');
  expect(add.code, add.err).toBe(0);
  if (options.tfjs) expect((await cli('add', 'fashion', '1.0.0', release.path('fashion/1.0.0/tfjs/model.json'), '-m', release.manifest)).code).toBe(0);
  return release;
}

describe('init', () => {
  it('writes an empty manifest whose $schema points at the JSON Schema, and will not overwrite one', async () => {
    const release = releaseDir();
    const init = await cli('init', '-m', release.manifest);
    expect(init.code).toBe(0);
    expect(readJson(release.manifest)).toEqual({ $schema: 'https://unpkg.com/@edgeinfer/models@0.1.0/manifest.schema.json', schemaVersion: 1, models: {} });
    const again = await cli('init', '-m', release.manifest);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already exists; pass --force');
    expect((await cli('init', '-m', release.manifest, '--schema', './manifest.schema.json', '--force')).code).toBe(0);
    expect(readJson(release.manifest).$schema).toBe('./manifest.schema.json');
  });
});

describe('add', () => {
  it('reads format, sizes, SHA-256 and inputs/outputs from an .onnx file and computes its probe in Node', async () => {
    const release = await withV1();
    const manifest = parseManifest(readJson(release.manifest));
    const model = manifest.models.fashion!;
    expect(model.labels).toHaveLength(10);
    expect(model.channels).toEqual({ stable: '1.0.0' });
    const version = model.versions['1.0.0']!;
    expect(version.inputs).toEqual([{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }]);
    expect(version.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }]);
    expect(version.preprocessing).toEqual({ width: 28, height: 28, channels: 1, layout: 'NCHW', mean: [0.286], std: [0.353] });
    const fp32 = version.variants.fp32!;
    expect(fp32).toMatchObject({ format: 'onnx', dtype: 'float32' });
    expect(fp32.files).toEqual([{ path: 'fashion/1.0.0/model.onnx', size: readFileSync(release.path('fashion/1.0.0/model.onnx')).byteLength, sha256: sha256(release.path('fashion/1.0.0/model.onnx')) }]);
    expect(fp32.probe?.path).toBe('fashion/1.0.0/model.probe.json');
    const probe = parseProbe(readFileSync(release.path(fp32.probe!.path)));
    expect(probe.inputs.input?.dims).toEqual([1, 1, 28, 28]);
    expect(probe.outputs.logits?.dims).toEqual([1, 10]);
    // The probe input looks like a normalised image: (pixel - 0.286) / 0.353 for pixels in [0, 1].
    const pixels = probe.inputs.input!.data as Float32Array;
    expect(Math.min(...pixels)).toBeGreaterThanOrEqual(-0.286 / 0.353 - 1e-6);
    expect(Math.max(...pixels)).toBeLessThanOrEqual(0.714 / 0.353 + 1e-6);
  });

  it('finds a TF.js model.json\'s weight files from its weightsManifest; its probe agrees with the ONNX one on the same model', async () => {
    const release = await withV1({ tfjs: true });
    const version = parseManifest(readJson(release.manifest)).models.fashion!.versions['1.0.0']!;
    expect(version.variants.tfjs!.files.map((file) => file.path)).toEqual(['fashion/1.0.0/tfjs/model.json', 'fashion/1.0.0/tfjs/weights.bin']);
    const onnx = parseProbe(readFileSync(release.path(version.variants.fp32!.probe!.path)));
    const tfjs = parseProbe(readFileSync(release.path(version.variants.tfjs!.probe!.path)));
    expect(tfjs.inputs).toEqual(onnx.inputs);
    const expected = onnx.outputs.logits!.data as Float32Array;
    (tfjs.outputs.logits!.data as Float32Array).forEach((value, index) => expect(Math.abs(value - expected[index]!)).toBeLessThan(1e-3));
  });

  it('refuses a variant that exists already, a file outside the manifest directory, and a variant with other inputs', async () => {
    const release = await withV1();
    const before = readFileSync(release.manifest, 'utf8');
    const again = await cli('add', 'fashion', '1.0.0', release.path('fashion/1.0.0/model.onnx'), '-m', release.manifest);
    expect(again.code).toBe(1);
    expect(again.err).toContain('already has a variant "fp32"');
    const outside = await cli('add', 'fashion', '1.0.0', `${MODELS}fashion-mnist/1.0.0/model.int8.onnx`, '-m', release.manifest);
    expect(outside.code).toBe(1);
    expect(outside.err).toContain('is outside');
    expect(readFileSync(release.manifest, 'utf8')).toBe(before);
  });

  it('--variant int8 --from fp32 runs the quantizer and records its report', async () => {
    const release = await withV1();
    const result = await cli('add', 'fashion', '1.0.0', '--variant', 'int8', '--from', 'fp32', '--latency-runs', '0', '-m', release.manifest);
    expect(result.code, result.err).toBe(0);
    const int8 = parseManifest(readJson(release.manifest)).models.fashion!.versions['1.0.0']!.variants.int8!;
    expect(int8).toMatchObject({ format: 'onnx', dtype: 'int8', quantization: { from: 'fp32', report: { path: 'fashion/1.0.0/model.int8.report.json' } } });
    expect(int8.files[0]!.path).toBe('fashion/1.0.0/model.int8.onnx');
    const report = readJson(release.path('fashion/1.0.0/model.int8.report.json'));
    expect(report.quantization.sizeRatio).toBeLessThan(0.5);
    expect(report.evaluation.top1Agreement).toBeGreaterThan(0.5);
    expect(int8.probe?.path).toBe('fashion/1.0.0/model.int8.probe.json');
    expect((await cli('validate', '-m', release.manifest)).code).toBe(0);
  }, 180_000);
});

describe('ls', () => {
  it('lists versions with their status and variants', async () => {
    const release = await withV1({ tfjs: true });
    await cli('add', 'fashion', '1.1.0', release.path('fashion/1.1.0/model.onnx'), '-m', release.manifest);
    await cli('canary', 'fashion', '1.1.0', '10', '-m', release.manifest, '--force');
    const listing = await cli('ls', '-m', release.manifest);
    expect(listing.out).toContain('fashion 1.0.0  stable');
    expect(listing.out).toContain('fashion 1.1.0  canary 10%');
    expect(listing.out).toMatch(/tfjs: tfjs-layers float32 429 kB, probe/);
    const json = JSON.parse((await cli('ls', 'fashion', '--json', '-m', release.manifest)).out);
    expect(json.map((row: { status: string }) => row.status)).toEqual(['stable', 'canary 10%']);
  });
});

describe('validate', () => {
  it('passes a manifest the CLI wrote', async () => {
    const release = await withV1({ tfjs: true });
    const result = await cli('validate', '-m', release.manifest);
    expect(result.code).toBe(0);
    expect(result.out).toContain('is valid: 5 file(s) checked');
  });

  it('catches a changed file by its hash, naming the file and the field', async () => {
    const release = await withV1();
    const weights = release.path('fashion/1.0.0/model.onnx');
    const bytes = readFileSync(weights);
    bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
    writeFileSync(weights, bytes);
    const result = await cli('validate', '-m', release.manifest);
    expect(result.code).toBe(1);
    expect(result.err).toContain('fashion/1.0.0/model.onnx: models.fashion.versions["1.0.0"].variants.fp32.files[0].sha256: the file\'s SHA-256 is');
  });

  it('catches a missing file, naming the file and the field', async () => {
    const release = await withV1({ tfjs: true });
    const { rmSync } = await import('node:fs');
    rmSync(release.path('fashion/1.0.0/tfjs/weights.bin'));
    const result = await cli('validate', '-m', release.manifest, '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.out).problems).toEqual([
      { file: 'fashion/1.0.0/tfjs/weights.bin', field: 'models.fashion.versions["1.0.0"].variants.tfjs.files[1].path', message: expect.stringContaining('does not exist') },
    ]);
  });

  it('catches schema errors, naming the manifest and the field', async () => {
    const release = await withV1();
    const manifest = readJson(release.manifest);
    manifest.models.fashion.versions['1.0.0'].variants.fp32.dtype = 'float33';
    delete manifest.models.fashion.task;
    manifest.models.fashion.versions['1.0.0'].variants.fp32.files[0].sha265 = 'typo';
    writeFileSync(release.manifest, JSON.stringify(manifest));
    const result = JSON.parse((await cli('validate', '-m', release.manifest, '--json')).out);
    expect(result.ok).toBe(false);
    const fields = result.problems.map((problem: { file: string; field: string }) => `${problem.file}: ${problem.field}`);
    expect(fields).toEqual(
      expect.arrayContaining([
        `${release.manifest}: models.fashion.task`,
        `${release.manifest}: models.fashion.versions["1.0.0"].variants.fp32.dtype`,
        `${release.manifest}: models.fashion.versions["1.0.0"].variants.fp32.files[0].sha265`,
      ]),
    );
  });

  it("catches a stable version that is not in versions (the loader's own cross-field check)", async () => {
    const release = await withV1();
    const manifest = readJson(release.manifest);
    manifest.models.fashion.channels.stable = '9.9.9';
    writeFileSync(release.manifest, JSON.stringify(manifest));
    const result = await cli('validate', '-m', release.manifest);
    expect(result.code).toBe(1);
    expect(result.err).toContain('models["fashion"].channels.stable: version "9.9.9" is not in versions');
  });
});

describe('canary', () => {
  it('sets the canary percentage, and refuses a percent out of range or a canary of the stable version, writing nothing', async () => {
    const release = await withV1();
    await cli('add', 'fashion', '1.1.0', release.path('fashion/1.1.0/model.onnx'), '-m', release.manifest);
    expect((await cli('canary', 'fashion', '1.1.0', '10', '-m', release.manifest)).code).toBe(0);
    expect(readJson(release.manifest).models.fashion.channels).toEqual({ stable: '1.0.0', canary: { version: '1.1.0', percent: 10 } });
    const before = readFileSync(release.manifest, 'utf8');
    for (const percent of ['150', '100.5', 'ten']) {
      const result = await cli('canary', 'fashion', '1.1.0', percent, '-m', release.manifest);
      expect(result.code).toBe(1);
      expect(result.err).toContain('Canary percent must be a number from 0 to 100');
    }
    const stable = await cli('canary', 'fashion', '1.0.0', '50', '-m', release.manifest);
    expect(stable.err).toContain('already the stable version');
    expect(readFileSync(release.manifest, 'utf8')).toBe(before);
    expect(readdirSync(release.dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('promote', () => {
  it('switches stable in one write, keeps the previous stable listed, and ends the canary', async () => {
    const release = await withV1();
    await cli('add', 'fashion', '1.1.0', release.path('fashion/1.1.0/model.onnx'), '-m', release.manifest);
    await cli('canary', 'fashion', '1.1.0', '100', '-m', release.manifest);
    const result = await cli('promote', 'fashion', '1.1.0', '-m', release.manifest);
    expect(result.code, result.err).toBe(0);
    const model = readJson(release.manifest).models.fashion;
    expect(model.channels).toEqual({ stable: '1.1.0' });
    expect(model.stableHistory).toEqual(['1.0.0']);
    expect(Object.keys(model.versions)).toEqual(['1.0.0', '1.1.0']);
  });

  it('refuses a version with no variant for a backend the stable version serves (unless --force)', async () => {
    const release = await withV1({ tfjs: true });
    await cli('add', 'fashion', '1.1.0', release.path('fashion/1.1.0/model.onnx'), '-m', release.manifest);
    const before = readFileSync(release.manifest, 'utf8');
    const refused = await cli('promote', 'fashion', '1.1.0', '-m', release.manifest);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('stable 1.0.0 runs on tfjs-webgl (variant tfjs), tfjs-wasm (variant tfjs), tfjs-cpu (variant tfjs), and 1.1.0 has no variant for them');
    expect(readFileSync(release.manifest, 'utf8')).toBe(before);
    await cli('add', 'fashion', '1.1.0', release.path('fashion/1.1.0/tfjs/model.json'), '-m', release.manifest);
    expect((await cli('promote', 'fashion', '1.1.0', '-m', release.manifest)).code).toBe(0);
  });
});

describe('revoke', () => {
  it('revokes a stable version back to the previous stable, and refuses to revoke the only stable one', async () => {
    const release = await withV1();
    const only = await cli('revoke', 'fashion', '1.0.0', '-m', release.manifest);
    expect(only.code).toBe(1);
    expect(only.err).toContain('is the only stable version');
    await cli('add', 'fashion', '1.1.0', release.path('fashion/1.1.0/model.onnx'), '-m', release.manifest);
    await cli('promote', 'fashion', '1.1.0', '-m', release.manifest);
    const result = await cli('revoke', 'fashion', '1.1.0', '-m', release.manifest);
    expect(result.code, result.err).toBe(0);
    const model = readJson(release.manifest).models.fashion;
    expect(model.channels).toEqual({ stable: '1.0.0' });
    expect(model.revoked).toEqual(['1.1.0']);
    expect(model.stableHistory).toBeUndefined();
    expect((await cli('canary', 'fashion', '1.1.0', '5', '-m', release.manifest)).err).toContain('is revoked');
  });

  it('revoking the canary ends it', async () => {
    const release = await withV1();
    await cli('add', 'fashion', '1.1.0', release.path('fashion/1.1.0/model.onnx'), '-m', release.manifest);
    await cli('canary', 'fashion', '1.1.0', '10', '-m', release.manifest);
    expect((await cli('revoke', 'fashion', '1.1.0', '-m', release.manifest)).code).toBe(0);
    expect(readJson(release.manifest).models.fashion.channels).toEqual({ stable: '1.0.0' });
  });
});

describe('rollback', () => {
  it('goes back to the previous stable, and refuses when there is none', async () => {
    const release = await withV1();
    expect((await cli('rollback', 'fashion', '-m', release.manifest)).err).toContain('no earlier stable version');
    await cli('add', 'fashion', '1.1.0', release.path('fashion/1.1.0/model.onnx'), '-m', release.manifest);
    await cli('promote', 'fashion', '1.1.0', '-m', release.manifest);
    const result = await cli('rollback', 'fashion', '-m', release.manifest);
    expect(result.code).toBe(0);
    expect(result.out).toContain('rolled back from 1.1.0 to 1.0.0');
    const model = readJson(release.manifest).models.fashion;
    expect(model.channels).toEqual({ stable: '1.0.0' });
    expect(model.revoked).toBeUndefined();
    expect(Object.keys(model.versions)).toEqual(['1.0.0', '1.1.0']);
  });
});

describe('the JSON Schema', () => {
  it("accepts this repository's published manifest", () => {
    expect(schemaProblems(readJson(`${MODELS}manifest.json`))).toEqual([]);
  });
});
