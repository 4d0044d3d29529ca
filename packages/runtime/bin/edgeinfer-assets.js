#!/usr/bin/env node
// `npx edgeinfer-assets <folder>`: copies the engine's standalone worker, the installed backends and
// their .wasm files into a folder the app serves (e.g. public/edgeinfer), for esbuild apps and pages
// with no bundler. Vite, webpack 5 and Rollup find these files by themselves.
import { cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ORT_FILES = [
  'ort.wasm.bundle.min.mjs',
  'ort-wasm-simd-threaded.wasm',
  'ort.jspi.bundle.min.mjs',
  'ort-wasm-simd-threaded.jspi.wasm',
  'ort.webgpu.bundle.min.mjs',
  'ort-wasm-simd-threaded.asyncify.wasm',
];

const args = process.argv.slice(2);
if (args.length !== 1 || args[0].startsWith('-')) {
  console.error('usage: edgeinfer-assets <folder>   (e.g. public/edgeinfer; then createEngine({ workerUrl: "/edgeinfer/worker-onnx.js" }))');
  process.exit(args.includes('--help') || args.includes('-h') ? 0 : 2);
}
const destination = resolve(args[0]);
const runtimeDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(runtimeDir, 'package.json'));

/** The package's folder, or undefined when the app did not install it (backends are optional). */
function packageDir(name) {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function copyFolder(from, to) {
  if (!existsSync(from)) throw new Error(`${from} is missing: is the package built?`);
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) if (statSync(join(from, name)).isFile()) cpSync(join(from, name), join(to, name));
}

const copied = [];
copyFolder(join(runtimeDir, 'dist/standalone'), destination);
copyFolder(join(packageDir('@edgeinfer/core'), 'dist/standalone'), destination);
copied.push('engine worker (worker.js, worker-onnx.js, worker-tfjs.js) and page entries (runtime*.js)');

const ortBackend = packageDir('@edgeinfer/backend-ort');
if (ortBackend) {
  copyFolder(join(ortBackend, 'dist/standalone'), destination);
  const ortDist = dirname(createRequire(join(ortBackend, 'package.json')).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
  mkdirSync(join(destination, 'ort'), { recursive: true });
  for (const file of ORT_FILES) cpSync(join(ortDist, file), join(destination, 'ort', file));
  copied.push('onnxruntime-web (ort/)');
}
const tfjsBackend = packageDir('@edgeinfer/backend-tfjs');
if (tfjsBackend) {
  copyFolder(join(tfjsBackend, 'dist/standalone'), destination);
  copyFolder(join(tfjsBackend, 'wasm'), join(destination, 'tfjs-wasm'));
  copied.push('TensorFlow.js (backend-tfjs*.js, tfjs-wasm/)');
}
if (!ortBackend && !tfjsBackend) console.warn('edgeinfer-assets: neither @edgeinfer/backend-ort nor @edgeinfer/backend-tfjs is installed: no backend copied.');
console.log(`edgeinfer-assets: copied into ${destination}:\n  ${copied.join('\n  ')}`);
