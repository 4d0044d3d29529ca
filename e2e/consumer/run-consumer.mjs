#!/usr/bin/env node
// The consumer suite: what a user gets from npm. Packs every package, installs the tarballs into
// fixture apps in a temporary folder outside the workspace (no workspace links, no path aliases),
// and runs the README quick start in Chromium from a Vite dev server, a Vite production build, a
// webpack 5 production build, an esbuild bundle (with `npx edgeinfer-assets`) and a page with an
// import map and no bundler. Then: type-checks against the published .d.ts (TypeScript 5.9 and the
// newest), publint and arethetypeswrong on every tarball, size budgets, and the Node CLIs run from
// built JavaScript. Prints one line per check; exits non-zero if any fails.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { checkSizeBudgets } from './size-budgets.mjs';
import { serveStatic } from './static-server.mjs';
import { visit } from './visit.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = join(repo, 'e2e/consumer/fixtures');
const keep = process.argv.includes('--keep');
const workDir = mkdtempSync(join(tmpdir(), 'edgeinfer-consumer-'));
const results = [];

function run(command, args, options = {}) {
  const started = Date.now();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.status !== 0 && !options.allowFailure) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}) after ${Date.now() - started} ms:\n${output.slice(-4000)}`);
  }
  return { status: result.status, output, stdout: result.stdout ?? '' };
}

async function check(name, work) {
  const started = Date.now();
  try {
    const detail = await work();
    results.push({ name, ok: true, detail });
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)${detail ? `: ${detail}` : ''}`);
  } catch (error) {
    results.push({ name, ok: false, detail: error.message });
    console.log(`FAIL ${name}: ${error.message}`);
  }
}

/** Packs every publishable package into workDir/packs; returns { name: tarballPath }. */
function packAll() {
  const packsDir = join(workDir, 'packs');
  mkdirSync(packsDir);
  const tarballs = {};
  for (const folder of readdirSync(join(repo, 'packages'))) {
    const dir = join(repo, 'packages', folder);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    const { stdout } = run('npm', ['pack', '--json', '--pack-destination', packsDir], { cwd: dir });
    const [packed] = JSON.parse(stdout);
    tarballs[manifest.name] = join(packsDir, packed.filename);
  }
  return tarballs;
}

function npmInstall(dir, specs) {
  writeFileSync(join(dir, '.npmrc'), 'fund=false\naudit=false\nonnxruntime-node-install=skip\n');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--install-links', ...specs], { cwd: dir });
}

/** A fresh app folder from a fixture, with the repo's Fashion-MNIST model and manifest in public/models. */
function createApp(fixture) {
  const dir = join(workDir, fixture);
  cpSync(join(fixtures, fixture), dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `edgeinfer-${fixture}`, private: true, type: 'module' }, null, 2));
  const models = join(dir, 'public/models');
  mkdirSync(models, { recursive: true });
  cpSync(join(repo, 'models/manifest.json'), join(models, 'manifest.json'));
  cpSync(join(repo, 'models/fashion-mnist'), join(models, 'fashion-mnist'), { recursive: true, filter: (source) => !source.includes('/eval') });
  return dir;
}

function expectQuickStart(outcome, { forbidden }) {
  const problems = [];
  if (!outcome.result.startsWith('ok ')) problems.push(`page says "${outcome.result}"`);
  for (const response of outcome.badResponses) problems.push(`HTTP ${response}`);
  for (const error of outcome.consoleErrors) problems.push(`console error: ${error}`);
  const leaked = outcome.urls.filter((url) => forbidden.test(url));
  if (leaked.length) problems.push(`downloaded ${leaked.length} forbidden file(s): ${leaked.slice(0, 3).join(', ')}`);
  if (problems.length) throw new Error(problems.join('; '));
  return `${outcome.result.slice(3)}, ${outcome.urls.length} requests, worker ${outcome.workers[0] ?? 'none'}`;
}

function startProcess(command, args, cwd) {
  // Colour off, and escapes stripped anyway: with FORCE_COLOR set (CI runners, Playwright) Vite prints
  // "127.0.0.1:\x1b[1m5391" and a plain pattern never matches.
  const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const append = (chunk) => (output += chunk);
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  return {
    waitFor: (pattern, timeoutMs = 120_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${command} did not print ${pattern} in ${timeoutMs} ms:\n${output}`)), timeoutMs);
        const poll = setInterval(() => {
          const match = stripVTControlCharacters(output).match(pattern);
          if (match) {
            clearTimeout(timer);
            clearInterval(poll);
            resolve(match);
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            clearInterval(poll);
            reject(new Error(`${command} exited (${child.exitCode}):\n${output}`));
          }
        }, 100);
      }),
    get output() {
      return output;
    },
    stop: () => {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

// TF.js code or wasm (not edgeinfer's own modules that merely read TF.js model files).
const ONNX_ONLY = { forbidden: /@tensorflow|tfjs-backend|tf-backend|backend-tfjs|tfjs-wasm/i };

async function browserApps(tarballs) {
  const app = createApp('onnx-app');
  const runtimeTarballs = ['@edgeinfer/core', '@edgeinfer/loader', '@edgeinfer/telemetry', '@edgeinfer/engine', '@edgeinfer/backend-ort', '@edgeinfer/runtime'].map((name) => tarballs[name]);
  await check('install the tarballs into an ONNX-only app (no TensorFlow.js installed)', () => {
    npmInstall(app, [...runtimeTarballs, 'vite@8', 'webpack@5', 'webpack-cli@6', 'esbuild@0.28', 'typescript@5.9', 'typescript-latest@npm:typescript@latest']);
    if (existsSync(join(app, 'node_modules/@tensorflow'))) throw new Error('node_modules/@tensorflow exists');
    if (existsSync(join(app, 'node_modules/@edgeinfer/backend-tfjs'))) throw new Error('@edgeinfer/backend-tfjs was installed');
    return `node_modules/@edgeinfer: ${readdirSync(join(app, 'node_modules/@edgeinfer')).join(', ')}`;
  });

  await check('Vite dev server: quick start runs', async () => {
    const server = startProcess('npx', ['vite', '--host', '127.0.0.1', '--port', '5391', '--strictPort'], app);
    try {
      await server.waitFor(/Local:\s+http:\/\/127\.0\.0\.1:5391/);
      return expectQuickStart(await visit('http://127.0.0.1:5391/'), ONNX_ONLY);
    } finally {
      server.stop();
    }
  });

  await check('Vite production build: quick start runs', async () => {
    run('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: app });
    const server = await serveStatic(join(app, 'dist'));
    try {
      return expectQuickStart(await visit(`${server.url}/`), ONNX_ONLY);
    } finally {
      await server.close();
    }
  });

  await check('webpack 5 production build: quick start runs', async () => {
    run('npx', ['webpack', '--config', 'webpack.config.js'], { cwd: app });
    const server = await serveStatic(app, { '/models/': join(app, 'public/models/') });
    try {
      return expectQuickStart(await visit(`${server.url}/webpack.html`), ONNX_ONLY);
    } finally {
      await server.close();
    }
  });

  await check('esbuild bundle + npx edgeinfer-assets: quick start runs', async () => {
    run('npx', ['esbuild', 'src/main.js', '--bundle', '--format=esm', '--splitting', '--outdir=esbuild-out'], { cwd: app });
    run('npx', ['edgeinfer-assets', 'edgeinfer'], { cwd: app });
    const server = await serveStatic(app, { '/models/': join(app, 'public/models/') });
    try {
      return expectQuickStart(await visit(`${server.url}/esbuild.html`), ONNX_ONLY);
    } finally {
      await server.close();
    }
  });

  await check('plain HTML page with an import map (no bundler): quick start runs', async () => {
    run('npx', ['edgeinfer-assets', 'edgeinfer'], { cwd: app });
    const server = await serveStatic(app, { '/models/': join(app, 'public/models/') });
    try {
      return expectQuickStart(await visit(`${server.url}/importmap.html`), ONNX_ONLY);
    } finally {
      await server.close();
    }
  });

  for (const [label, bin] of [
    ['TypeScript 5.9', 'node_modules/typescript/bin/tsc'],
    ['the newest TypeScript', 'node_modules/typescript-latest/bin/tsc'],
  ]) {
    await check(`the app type-checks against the published .d.ts (${label}, strict, exactOptionalPropertyTypes, skipLibCheck off)`, () => {
      const version = run(process.execPath, [join(app, bin), '--version'], { cwd: app }).output.trim();
      run(process.execPath, [join(app, bin), '-p', 'tsconfig.json'], { cwd: app });
      return version;
    });
  }
  return app;
}

async function tfjsApp(tarballs) {
  const app = createApp('tfjs-app');
  const specs = ['@edgeinfer/core', '@edgeinfer/loader', '@edgeinfer/telemetry', '@edgeinfer/engine', '@edgeinfer/backend-tfjs', '@edgeinfer/runtime'].map((name) => tarballs[name]);
  await check('install the tarballs into a TF.js-only app (no onnxruntime-web installed)', () => {
    npmInstall(app, [...specs, 'vite@8']);
    if (existsSync(join(app, 'node_modules/onnxruntime-web'))) throw new Error('node_modules/onnxruntime-web exists');
  });
  await check('Vite production build, TF.js model on tfjs-wasm: quick start runs', async () => {
    run('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: app });
    const server = await serveStatic(join(app, 'dist'));
    try {
      return expectQuickStart(await visit(`${server.url}/`), { forbidden: /onnxruntime|ort[.-]wasm|ort\.(webgpu|jspi)/i });
    } finally {
      await server.close();
    }
  });
}

async function nodeClis(tarballs) {
  const app = join(workDir, 'node-app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'edgeinfer-node-app', private: true, type: 'module' }));
  await check('install the collector and quantizer tarballs into an empty folder', () => {
    npmInstall(app, ['@edgeinfer/core', '@edgeinfer/telemetry', '@edgeinfer/collector', '@edgeinfer/quantize', '@edgeinfer/models'].map((name) => tarballs[name]));
    for (const tool of ['typescript', 'tsx']) if (existsSync(join(app, 'node_modules', tool))) throw new Error(`${tool} was installed`);
  });
  await check('npx edgeinfer-collector starts from built JavaScript and answers /healthz', async () => {
    const collector = startProcess('npx', ['edgeinfer-collector', '--port', '8791', '--db', join(app, 'events.sqlite')], app);
    try {
      await collector.waitFor(/listening on (http:\/\/\S+)/);
      const response = await fetch('http://127.0.0.1:8791/healthz');
      if (!response.ok) throw new Error(`/healthz answered ${response.status}`);
      return `/healthz ${response.status}`;
    } finally {
      collector.stop();
    }
  });
  await check('npx edgeinfer-models publishes a model from built JavaScript (init, add, canary, validate)', () => {
    const modelDir = join(app, 'public/models/fashion-mnist/1.0.0');
    mkdirSync(modelDir, { recursive: true });
    cpSync(join(repo, 'models/fashion-mnist/1.0.0/model.onnx'), join(modelDir, 'model.onnx'));
    mkdirSync(join(app, 'public/models/fashion-mnist/1.1.0'), { recursive: true });
    cpSync(join(repo, 'models/fashion-mnist/1.1.0/model.onnx'), join(app, 'public/models/fashion-mnist/1.1.0/model.onnx'));
    const manifest = ['--manifest', 'public/models/manifest.json'];
    run('npx', ['edgeinfer-models', 'init', ...manifest], { cwd: app });
    run('npx', ['edgeinfer-models', 'add', 'fashion-mnist', '1.0.0', 'public/models/fashion-mnist/1.0.0/model.onnx', ...manifest], { cwd: app });
    run('npx', ['edgeinfer-models', 'add', 'fashion-mnist', '1.1.0', 'public/models/fashion-mnist/1.1.0/model.onnx', ...manifest], { cwd: app });
    run('npx', ['edgeinfer-models', 'canary', 'fashion-mnist', '1.1.0', '10', ...manifest], { cwd: app });
    return run('npx', ['edgeinfer-models', 'validate', ...manifest], { cwd: app }).stdout.trim();
  });
  await check('npx edgeinfer-quantize quantizes a model from built JavaScript', () => {
    const model = join(repo, 'models/fashion-mnist/1.0.0/model.onnx');
    const { output } = run('npx', ['edgeinfer-quantize', model, '-o', join(app, 'model.int8.onnx'), '--mode', 'dynamic', '--latency-runs', '5', '--synthetic', '4'], { cwd: app });
    if (!existsSync(join(app, 'model.int8.onnx'))) throw new Error(`no output model:\n${output}`);
    return output.trim().split('\n').filter((line) => !line.startsWith('npm warn')).at(-1);
  });
}

async function packageLints(tarballs, app) {
  for (const [name, tarball] of Object.entries(tarballs)) {
    await check(`publint: ${name}`, () => {
      const { output } = run('npx', ['--yes', 'publint@0.3', tarball, '--strict'], { cwd: app });
      return output.includes('All good') ? 'all good' : output.trim().split('\n').slice(-2).join(' ');
    });
    await check(`arethetypeswrong: ${name}`, () => {
      // ESM-only packages: the profile leaves out resolving them from CommonJS, which they do not support.
      const { output } = run('npx', ['--yes', '@arethetypeswrong/cli@0.18', tarball, '--profile', 'esm-only', '--format', 'table-flipped'], { cwd: app });
      return output.includes('No problems found') ? 'no problems found' : output.trim().split('\n').at(-1);
    });
  }
}

try {
  console.log(`consumer suite in ${workDir}`);
  const tarballs = packAll();
  console.log(`packed: ${Object.keys(tarballs).join(', ')}`);
  const app = await browserApps(tarballs);
  await tfjsApp(tarballs);
  await nodeClis(tarballs);
  await packageLints(tarballs, app);
  await check('size budgets', () => checkSizeBudgets(app));
} finally {
  if (!keep) rmSync(workDir, { recursive: true, force: true });
}
const failed = results.filter((result) => !result.ok);
mkdirSync(join(repo, 'test-results'), { recursive: true });
writeFileSync(join(repo, 'test-results/consumer.json'), JSON.stringify({ passed: results.length - failed.length, failed: failed.length, results }, null, 2));
console.log(`consumer: ${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
