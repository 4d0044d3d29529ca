#!/usr/bin/env node
// Builds every package into its dist/ (ESM JavaScript, .d.ts, source maps) in dependency order, so
// each package compiles against the .d.ts its dependencies publish, as an app would. Runs after
// `npm install` (the root `prepare` script) and before tests; `--only <name,...>` rebuilds some.
import { spawnSync } from 'node:child_process';
import { build as esbuild } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packagesDir = join(root, 'packages');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

/**
 * Standalone builds (dist/standalone/) for esbuild apps and pages with no bundler: a module worker
 * cannot use an import map, so the worker must import only relative URLs. Each package bundles its
 * own code; other @edgeinfer packages and onnxruntime-web stay external, mapped to the file names
 * `npx edgeinfer-assets <folder>` copies side by side (one core.js, so errors keep their class).
 */
const STANDALONE_EXTERNALS = {
  '@edgeinfer/core': './core.js',
  '@edgeinfer/backend-ort': './backend-ort.js',
  '@edgeinfer/backend-tfjs': './backend-tfjs.js',
  'onnxruntime-web/wasm': './ort/ort.wasm.bundle.min.mjs',
  'onnxruntime-web/jspi': './ort/ort.jspi.bundle.min.mjs',
  'onnxruntime-web/webgpu': './ort/ort.webgpu.bundle.min.mjs',
};

function standaloneExternals(bundled) {
  return {
    name: 'edgeinfer-standalone-externals',
    setup(build) {
      build.onResolve({ filter: /^(@edgeinfer\/(core|backend-ort|backend-tfjs)|onnxruntime-web\/(wasm|jspi|webgpu))$/ }, (args) =>
        bundled === args.path ? undefined : { path: STANDALONE_EXTERNALS[args.path], external: true },
      );
      // TF.js's .wasm files sit in tfjs-wasm/ beside the standalone backend.
      build.onLoad({ filter: /tfjs-assets\.js$/ }, async (args) => ({
        contents: readFileSync(args.path, 'utf8').replaceAll('../wasm/', './tfjs-wasm/'),
        loader: 'js',
      }));
    },
  };
}

async function buildStandalone(dir, entryPoints, bundled) {
  await esbuild({
    entryPoints,
    outdir: join(dir, 'dist/standalone'),
    bundle: true,
    splitting: true,
    format: 'esm',
    target: 'es2022',
    minify: true,
    sourcemap: true,
    // Chunks sit beside the entries: the external './core.js' paths are kept verbatim.
    chunkNames: '[name]-[hash]',
    conditions: ['browser'],
    logLevel: 'warning',
    plugins: [standaloneExternals(bundled)],
  });
}

/** Files a package needs beside its compiled code, copied from its dependencies at build time; standalone builds. */
const PRE_STEPS = {
  'backend-tfjs': (dir) => {
    // TF.js wasm binaries, referenced as new URL('../wasm/<file>', import.meta.url) from src/ and dist/.
    const from = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
    mkdirSync(join(dir, 'wasm'), { recursive: true });
    for (const file of readdirSync(from).filter((name) => name.endsWith('.wasm'))) cpSync(join(from, file), join(dir, 'wasm', file));
  },
};
const POST_STEPS = {
  core: (dir) => buildStandalone(dir, { core: join(dir, 'dist/index.js') }, '@edgeinfer/core'),
  'backend-ort': (dir) => buildStandalone(dir, { 'backend-ort': join(dir, 'dist/index.js') }, '@edgeinfer/backend-ort'),
  'backend-tfjs': (dir) => buildStandalone(dir, { 'backend-tfjs': join(dir, 'dist/index.js') }, '@edgeinfer/backend-tfjs'),
  runtime: (dir) =>
    buildStandalone(dir, {
      worker: join(dir, 'dist/worker.js'),
      'worker-onnx': join(dir, 'dist/worker-onnx.js'),
      'worker-tfjs': join(dir, 'dist/worker-tfjs.js'),
      runtime: join(dir, 'dist/index.js'),
      'runtime-onnx': join(dir, 'dist/onnx.js'),
      'runtime-tfjs': join(dir, 'dist/tfjs.js'),
    }),
};

function readPackages() {
  return readdirSync(packagesDir)
    .filter((name) => existsSync(join(packagesDir, name, 'tsconfig.build.json')))
    .map((folder) => {
      const manifest = JSON.parse(readFileSync(join(packagesDir, folder, 'package.json'), 'utf8'));
      const deps = { ...manifest.dependencies, ...manifest.peerDependencies, ...manifest.devDependencies };
      return { folder, name: manifest.name, dependsOn: Object.keys(deps).filter((dep) => dep.startsWith('@edgeinfer/')) };
    });
}

function inDependencyOrder(packages) {
  const byName = new Map(packages.map((pkg) => [pkg.name, pkg]));
  const ordered = [];
  const visiting = new Set();
  const visit = (pkg) => {
    if (ordered.includes(pkg)) return;
    if (visiting.has(pkg.name)) throw new Error(`dependency cycle through ${pkg.name}`);
    visiting.add(pkg.name);
    for (const dep of pkg.dependsOn) if (byName.has(dep)) visit(byName.get(dep));
    ordered.push(pkg);
  };
  packages.forEach(visit);
  return ordered;
}

const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex > 0 ? new Set(process.argv[onlyIndex + 1].split(',')) : undefined;
const started = Date.now();
for (const pkg of inDependencyOrder(readPackages())) {
  if (only && !only.has(pkg.folder) && !only.has(pkg.name)) continue;
  const dir = join(packagesDir, pkg.folder);
  rmSync(join(dir, 'dist'), { recursive: true, force: true });
  PRE_STEPS[pkg.folder]?.(dir);
  const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`build-packages: ${pkg.name} failed to compile`);
    process.exit(1);
  }
  await POST_STEPS[pkg.folder]?.(dir);
}
console.log(`build-packages: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
