#!/usr/bin/env node
// Extracts the MobileNetV2 content-safety model that the nsfwjs npm package ships inside JavaScript
// bundles (model.min.js: the Keras/TF.js layers model JSON; group1-shard1of1.min.js: base64 weights,
// uint8-quantized) into a normal TF.js layers model: models/content-safety/1.0.0/model.json and
// group1-shard1of1.bin. No network: it reads the installed npm dependency.
// Usage: node models/build/extract-nsfwjs.mjs
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const modelsDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(modelsDir, 'content-safety', '1.0.0');
const WEIGHTS_FILE = 'group1-shard1of1.bin';

// nsfwjs's package "exports" hide dist/ and package.json: resolve its entry, walk up to the package root
// and load the UMD files by path.
let nsfwjsDir = dirname(require.resolve('nsfwjs', { paths: [modelsDir] }));
while (!existsSync(join(nsfwjsDir, 'package.json')) || JSON.parse(readFileSync(join(nsfwjsDir, 'package.json'), 'utf8')).name !== 'nsfwjs') {
  if (dirname(nsfwjsDir) === nsfwjsDir) throw new Error('nsfwjs is not installed: run npm ci');
  nsfwjsDir = dirname(nsfwjsDir);
}
const packageJsonPath = join(nsfwjsDir, 'package.json');
const { version } = JSON.parse(readFileSync(packageJsonPath, 'utf8'));
const bundleDir = join(nsfwjsDir, 'dist', 'models', 'mobilenet_v2');
const model = require(join(bundleDir, 'model.min.js'));
const weightsBase64 = require(join(bundleDir, 'group1-shard1of1.min.js'));

if (typeof model !== 'object' || !model.modelTopology || !Array.isArray(model.weightsManifest)) {
  throw new Error(`${bundleDir}/model.min.js did not export a TF.js model JSON (nsfwjs ${version} changed its layout?)`);
}
if (typeof weightsBase64 !== 'string') {
  throw new Error(`${bundleDir}/group1-shard1of1.min.js did not export a base64 string (nsfwjs ${version} changed its layout?)`);
}
if (model.weightsManifest.length !== 1) throw new Error(`expected one weight group, found ${model.weightsManifest.length}`);

const weights = Buffer.from(weightsBase64, 'base64');
const BYTES_PER_DTYPE = { uint8: 1, uint16: 2, float16: 2, float32: 4, int32: 4 };
const expectedBytes = model.weightsManifest[0].weights.reduce((sum, entry) => {
  const count = entry.shape.reduce((a, b) => a * b, 1);
  return sum + count * BYTES_PER_DTYPE[entry.quantization ? entry.quantization.dtype : entry.dtype];
}, 0);
if (weights.byteLength !== expectedBytes) {
  throw new Error(`weights are ${weights.byteLength} bytes but the manifest describes ${expectedBytes}`);
}

const modelJson = {
  format: 'layers-model',
  generatedBy: `keras ${model.modelTopology.keras_version}`,
  convertedBy: `edgeinfer models/build/extract-nsfwjs.mjs from nsfwjs ${version}`,
  modelTopology: model.modelTopology,
  // The bundle names its shard without an extension; the file we write is the same bytes as .bin.
  weightsManifest: [{ ...model.weightsManifest[0], paths: [WEIGHTS_FILE] }],
};

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'model.json'), JSON.stringify(modelJson));
writeFileSync(join(outDir, WEIGHTS_FILE), weights);

const layers = model.modelTopology.model_config.config.layers;
const inputLayer = layers.find((layer) => layer.class_name === 'InputLayer');
const outputLayer = layers.at(-1);
const quantization = [...new Set(model.weightsManifest[0].weights.map((entry) => entry.quantization?.dtype ?? 'none'))];
console.log(`wrote ${relative(process.cwd(), join(outDir, 'model.json'))} and ${WEIGHTS_FILE} (${weights.byteLength} bytes) from nsfwjs ${version}`);
console.log(
  `layers model (${model.modelTopology.model_config.class_name}, keras ${model.modelTopology.keras_version}), ${layers.length} layers; ` +
    `input "${inputLayer.config.name}" ${JSON.stringify(inputLayer.config.batch_input_shape)} ${inputLayer.config.dtype}; ` +
    `output "${outputLayer.config.name}" ${outputLayer.class_name} units=${outputLayer.config.units} activation=${outputLayer.config.activation}; ` +
    `${model.weightsManifest[0].weights.length} weights, quantization ${quantization.join(', ')}`,
);
