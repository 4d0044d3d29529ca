#!/usr/bin/env node
// Writes models/manifest.json from the artifacts on disk: sizes and SHA-256 are computed, never typed.
// Usage: node models/build/generate-manifest.mjs [--check]   (--check fails if the manifest is stale)
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const modelsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const manifestPath = join(modelsDir, 'manifest.json');

const FASHION_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const fashionIo = {
  inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 1, 28, 28] }],
  outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 10] }],
  preprocessing: { width: 28, height: 28, channels: 1, layout: 'NCHW', mean: [0.286], std: [0.353] },
};
const imagenetIo = {
  inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 3, 224, 224] }],
  outputs: [{ name: 'logits', dtype: 'float32', shape: ['batch', 1000] }],
  preprocessing: { width: 224, height: 224, channels: 3, layout: 'NCHW', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

/** Which artifacts form which variant. A variant whose files are not built yet is left out. */
const SPEC = {
  'fashion-mnist': {
    task: 'image-classification',
    labels: FASHION_LABELS,
    channels: { stable: '1.0.0', canary: { version: '1.1.0', percent: 10 } },
    revoked: [],
    versions: {
      '1.0.0': {
        ...fashionIo,
        variants: {
          fp32: { format: 'onnx', dtype: 'float32', files: ['fashion-mnist/1.0.0/model.onnx'] },
          int8: { format: 'onnx', dtype: 'int8', files: ['fashion-mnist/1.0.0/model.int8.onnx'] },
          tfjs: { format: 'tfjs-layers', dtype: 'float32', files: ['fashion-mnist/1.0.0/tfjs/model.json', 'fashion-mnist/1.0.0/tfjs/weights.bin'] },
          'tfjs-uint8': { format: 'tfjs-layers', dtype: 'uint8', files: ['fashion-mnist/1.0.0/tfjs-uint8/model.json', 'fashion-mnist/1.0.0/tfjs-uint8/weights.bin'] },
        },
      },
      '1.1.0': {
        ...fashionIo,
        variants: {
          fp32: { format: 'onnx', dtype: 'float32', files: ['fashion-mnist/1.1.0/model.onnx'] },
          int8: { format: 'onnx', dtype: 'int8', files: ['fashion-mnist/1.1.0/model.int8.onnx'] },
          tfjs: { format: 'tfjs-layers', dtype: 'float32', files: ['fashion-mnist/1.1.0/tfjs/model.json', 'fashion-mnist/1.1.0/tfjs/weights.bin'] },
          'tfjs-uint8': { format: 'tfjs-layers', dtype: 'uint8', files: ['fashion-mnist/1.1.0/tfjs-uint8/model.json', 'fashion-mnist/1.1.0/tfjs-uint8/weights.bin'] },
        },
      },
    },
  },
  mobilenetv2: {
    task: 'image-classification',
    channels: { stable: '1.0.0' },
    versions: {
      '1.0.0': {
        ...imagenetIo,
        notes: 'UNTRAINED: seeded random weights, for speed benchmarks only. Its labels mean nothing.',
        variants: {
          fp32: { format: 'onnx', dtype: 'float32', files: ['mobilenetv2/1.0.0/model.onnx'] },
          int8: { format: 'onnx', dtype: 'int8', files: ['mobilenetv2/1.0.0/model.int8.onnx'] },
          'int8-qdq': { format: 'onnx', dtype: 'int8', files: ['mobilenetv2/1.0.0/model.int8-qdq.onnx'] },
        },
      },
    },
  },
  'content-safety': {
    task: 'image-classification',
    labels: ['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy'],
    channels: { stable: '1.0.0' },
    versions: {
      '1.0.0': {
        inputs: [{ name: 'input', dtype: 'float32', shape: ['batch', 224, 224, 3] }],
        outputs: [{ name: 'probabilities', dtype: 'float32', shape: ['batch', 5] }],
        preprocessing: { width: 224, height: 224, channels: 3, layout: 'NHWC', mean: [0, 0, 0], std: [1, 1, 1] },
        notes: 'MobileNetV2 from the nsfwjs npm package, uint8-quantized weights, extracted by models/build/extract-nsfwjs.mjs.',
        variants: {
          'tfjs-uint8': { format: 'tfjs-layers', dtype: 'uint8', files: ['content-safety/1.0.0/model.json', 'content-safety/1.0.0/group1-shard1of1.bin'] },
        },
      },
    },
  },
};

function describeFile(path) {
  const bytes = readFileSync(join(modelsDir, path));
  return { path, size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function buildManifest() {
  const models = {};
  for (const [modelId, model] of Object.entries(SPEC)) {
    const versions = {};
    for (const [version, entry] of Object.entries(model.versions)) {
      const variants = {};
      for (const [name, variant] of Object.entries(entry.variants)) {
        if (!variant.files.every((file) => existsSync(join(modelsDir, file)))) continue;
        variants[name] = { ...variant, files: variant.files.map(describeFile) };
      }
      if (Object.keys(variants).length > 0) versions[version] = { ...entry, variants };
    }
    if (!(model.channels.stable in versions)) continue;
    const channels = model.channels.canary && !(model.channels.canary.version in versions) ? { stable: model.channels.stable } : model.channels;
    models[modelId] = { ...model, channels, versions };
  }
  return { schemaVersion: 1, models };
}

const text = `${JSON.stringify(buildManifest(), null, 2)}\n`;
if (process.argv.includes('--check')) {
  const current = existsSync(manifestPath) ? readFileSync(manifestPath, 'utf8') : '';
  if (current !== text) {
    console.error(`${relative(process.cwd(), manifestPath)} is stale: run node models/build/generate-manifest.mjs`);
    process.exit(1);
  }
  console.log('manifest is up to date');
} else {
  writeFileSync(manifestPath, text);
  console.log(`wrote ${relative(process.cwd(), manifestPath)}`);
}
