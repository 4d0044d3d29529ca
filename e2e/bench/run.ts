// `npm run bench [-- --quick] [--runs N] [--warmup N] [--rounds N] [--max-ms N] [--compare old.json] [--skip-build] [--only parts]`
// --only takes a comma list of: latency, auto, memory, peer, telemetry, load, threads, ttfr (default: all).
// Builds the demo, serves it, drives demo/bench/ in Debian's Chromium and writes
// bench-results/<date>.json (every raw sample), .html (tables, charts) and .md (the summary).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { LoadResult } from '../../demo/bench/bench-api.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js';
import { BENCH_OUT_DIR, buildDemo, startPreview, writeTransformersModel } from './bench-server.js';
import { runForcedWebGpu, runTimeToFirstResult, type TtfrModel, type TtfrSample } from './ttfr-runner.js';
import { createPlan, type EngineConfig } from './bench-plan.js';
import { compareRuns, deriveReport, renderHtml, renderMarkdown, type BenchRecord, type BenchRun } from './bench-report.js';
import { summarize } from './stats.js';

const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const PORT = 4180;
const LOCK_FILE = '/tmp/edgeinfer-browser.lock';
/** measureUserAgentSpecificMemory() otherwise waits for the next GC (up to 20 s) before answering. */
const EXTRA_ARGS = ['--enable-blink-features=ForceEagerMeasureMemory'];

type Flags = {
  readonly quick: boolean;
  readonly runs: number;
  readonly warmup: number;
  readonly maxMs: number;
  readonly rounds: number;
  readonly compare?: string;
  readonly skipBuild: boolean;
  readonly only: readonly string[] | null;
};

const PARTS = ['latency', 'auto', 'memory', 'peer', 'telemetry', 'load', 'threads', 'ttfr'];

function parseFlags(argv: readonly string[]): Flags {
  const value = (name: string) => {
    const index = argv.indexOf(name);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const number = (name: string, fallback: number) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`${name} takes a number, not "${raw}"`);
    return parsed;
  };
  const compare = value('--compare');
  return {
    quick,
    runs: number('--runs', quick ? 20 : 50),
    warmup: number('--warmup', quick ? 3 : 5),
    maxMs: number('--max-ms', quick ? 6_000 : 20_000),
    rounds: Math.max(1, number('--rounds', quick ? 2 : 3)),
    ...(compare ? { compare } : {}),
    skipBuild: argv.includes('--skip-build'),
    only: value('--only')?.split(',').map((part) => {
      if (!PARTS.includes(part)) throw new Error(`--only takes ${PARTS.join(', ')}, not "${part}"`);
      return part;
    }) ?? null,
  };
}

/** Other engineers share this 2-core machine: every browser run holds the same lock as the tests. */
function reexecUnderLock(): boolean {
  if (process.env.EDGEINFER_BENCH_LOCKED || !existsSync('/usr/bin/flock')) return false;
  console.error(`bench: waiting for ${LOCK_FILE} ...`);
  const result = spawnSync('/usr/bin/flock', [LOCK_FILE, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, EDGEINFER_BENCH_LOCKED: '1' },
  });
  process.exit(result.status ?? 1);
}

const log = (message: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

interface Manifest {
  models: Record<string, { labels?: string[]; versions: Record<string, { inputs: { name: string; shape: (number | string)[] }[]; outputs: { name: string; shape: (number | string)[] }[]; preprocessing?: { width: number; height: number; channels: number; mean: number[]; std: number[] }; variants: Record<string, { format: string; dtype: string; files: { path: string; size: number }[] }> }> }>;
}

async function openBenchPage(context: BrowserContext, baseUrl: string, consoleLog: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') consoleLog.push(`${message.type()}: ${message.text().slice(0, 400)}`);
  });
  page.on('pageerror', (error) => consoleLog.push(`pageerror: ${error.message}`));
  await page.goto(`${baseUrl}/bench/`);
  await page.waitForFunction(() => window.benchReady === true, undefined, { timeout: 60_000 });
  return page;
}

async function main(): Promise<void> {
  reexecUnderLock();
  const flags = parseFlags(process.argv.slice(2));
  const started = Date.now();
  const plan = createPlan(flags.quick);
  const manifest = JSON.parse(readFileSync(join(ROOT, 'models/manifest.json'), 'utf8')) as Manifest;
  const timing = { runs: flags.runs, warmup: flags.warmup, maxMs: flags.maxMs };

  let buildMs = 0;
  if (!flags.skipBuild) {
    log('vite build');
    buildMs = buildDemo(ROOT);
  }
  const peerModel = manifest.models[plan.peer.modelId]!;
  const peerVersion = Object.values(peerModel.versions)[0]!;
  const peerFile = peerVersion.variants[plan.peer.variant]!.files[0]!.path;
  // MobileNetV2 here is untrained and has no labels: class names stand in for ImageNet's.
  const classCount = Number(peerVersion.outputs[0]!.shape.at(-1));
  const labels = peerModel.labels ?? Array.from({ length: classCount }, (_, index) => `class ${index}`);
  // Served by a route on the browser context (same origin as the page), not from the build folder.
  const peerFolder = join(ROOT, 'bench-results/.peer-model');
  writeTransformersModel(ROOT, { folder: peerFolder, sourceModel: peerFile, modelName: plan.peer.modelId, labels, preprocessing: peerVersion.preprocessing! });
  const localModelPath = '/bench-models/';
  // Time to first result: Transformers.js's model folders are files in the build (vite resolves
  // --outDir from its root, demo/), served with the
  // same headers as everything else), not a route, which would turn the browser's HTTP cache off.
  const ttfrModelPath = '/ttfr-models/';
  const ttfrModels = (['fashion-mnist', 'mobilenetv2'] as const).map((modelId): TtfrModel => {
    const model = manifest.models[modelId]!;
    const version = Object.values(model.versions)[0]!;
    const preprocessing = version.preprocessing!;
    const file = version.variants.fp32!.files[0]!.path;
    const classes = Number(version.outputs[0]!.shape.at(-1));
    writeTransformersModel(ROOT, { folder: join(ROOT, 'demo', BENCH_OUT_DIR, ttfrModelPath), sourceModel: file, modelName: modelId, labels: model.labels ?? Array.from({ length: classes }, (_, index) => `class ${index}`), preprocessing });
    const input = version.inputs[0]!;
    return { modelId, variant: 'fp32', modelUrl: `/models/${file}`, inputName: input.name, inputShape: input.shape.map((dim) => (typeof dim === 'number' ? dim : 1)), imageUrl: '/models/gallery/ankle-boot-0.png', channels: preprocessing.channels };
  }) as unknown as readonly [TtfrModel, TtfrModel];
  const wants = (part: string) => !flags.only || flags.only.includes(part);
  let ttfr: { samples: TtfrSample[]; webgpu: TtfrSample | undefined } | undefined;

  const server = await startPreview(ROOT, PORT);
  const records: BenchRecord[] = [];
  const errors: { step: string; message: string }[] = [];
  // The machine is shared: the 1-minute load average beside each step shows when others were busy.
  const steps: { step: string; seconds: number; loadAverage1m: number }[] = [];
  const consoleLog: string[] = [];
  let browser: Browser | undefined;
  const run: { -readonly [K in keyof BenchRun]?: BenchRun[K] } = {};

  const record = (entry: Omit<BenchRecord, 'stats' | 'key'>) => {
    const key = [entry.kind, entry.context, entry.model, entry.backend, entry.variant, `b${entry.batch}`, entry.phase ?? ''].filter(Boolean).join('|');
    const full: BenchRecord = { ...entry, key, stats: summarize(entry.samplesMs) };
    records.push(full);
    return full;
  };
  async function step<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    const stepStarted = Date.now();
    try {
      const result = await work();
      const seconds = (Date.now() - stepStarted) / 1000;
      steps.push({ step: name, seconds, loadAverage1m: loadavg()[0]! });
      log(`${name} (${seconds.toFixed(1)} s, load ${loadavg()[0]!.toFixed(2)})`);
      return result;
    } catch (error) {
      const message = (error as Error).message?.split('\n').slice(0, 6).join(' ') ?? String(error);
      log(`${name} FAILED: ${message}`);
      errors.push({ step: name, message });
      return undefined;
    }
  }

  const modelUrl = (modelId: string, version: string, variant: string) => `/models/${manifest.models[modelId]!.versions[version]!.variants[variant]!.files[0]!.path}`;

  /**
   * The engine in its worker, then the same model, input and batch through the raw library on the
   * page, alternating in rounds: on a shared 2-core machine background load comes and goes, and
   * alternating spreads it over both sides instead of letting it land on one.
   */
  async function engineAndRaw(page: Page, config: EngineConfig, context: 'isolated' | 'not-isolated', rawThreads: number): Promise<void> {
    const label = `${config.modelId} ${config.backend} ${config.variant} b${config.batch} (${context})`;
    const perRound = { ...timing, runs: Math.max(3, Math.ceil(flags.runs / flags.rounds)), maxMs: flags.maxMs / flags.rounds };
    const samples = new Map<string, { samplesMs: number[]; roundP50s: number[]; detail: Record<string, unknown>; threads: number | null }>();
    const collect = (kind: string, result: { samplesMs: number[] } & Record<string, unknown>, threads: number | null) => {
      const { samplesMs, ...detail } = result;
      const entry = samples.get(kind) ?? { samplesMs: [], roundP50s: [], detail, threads };
      entry.samplesMs.push(...samplesMs);
      entry.roundP50s.push(summarize(samplesMs).p50);
      samples.set(kind, entry);
    };
    let version: string | undefined;
    for (let round = 0; round < flags.rounds; round++) {
      const engineResult = await step(`engine ${label} round ${round + 1}`, () =>
        page.evaluate((request) => window.bench.engineRun(request), { modelId: config.modelId, backend: config.backend, variant: config.variant, batch: config.batch, gallery: Boolean(config.gallery) && round === 0, ...perRound }),
      );
      if (engineResult) {
        collect('engine', { ...engineResult }, engineResult.wasmThreads);
        version ??= engineResult.version;
      }
      if (!config.raw) continue;
      const versionName = version ?? Object.keys(manifest.models[config.modelId]!.versions)[0]!;
      const versionEntry = manifest.models[config.modelId]!.versions[versionName]!;
      const input = versionEntry.inputs[0]!;
      const raw = config.raw;
      if (raw.library === 'ort') {
        const isInt8 = versionEntry.variants[config.variant]!.dtype === 'int8';
        const modes = isInt8 ? (config.rawIntegerKernels ? [true, false] : [true]) : [false];
        for (const fold of modes) {
          const kind = isInt8 && !fold ? 'raw-ort-integer' : 'raw-ort';
          const result = await step(`${kind} ${label} round ${round + 1}`, () =>
            page.evaluate((request) => window.bench.rawOrt(request), {
              modelUrl: modelUrl(config.modelId, versionName, config.variant),
              inputName: input.name,
              inputShape: input.shape.map((dim) => (typeof dim === 'number' ? dim : 1)),
              executionProvider: raw.executionProvider,
              foldInt8Weights: fold,
              batch: config.batch,
              threads: rawThreads,
              ...perRound,
            }),
          );
          if (result) collect(kind, { ...result }, raw.executionProvider === 'wasm' ? (result.threads ?? rawThreads) : null);
        }
        // The same library in a bare worker: what the page<->worker hop costs with no engine around it.
        if (raw.executionProvider === 'wasm' && config.batch === 1 && !isInt8) {
          const bare = await step(`raw-ort-worker ${label} round ${round + 1}`, () =>
            page.evaluate((request) => window.bench.rawOrtWorker(request), {
              modelUrl: modelUrl(config.modelId, versionName, config.variant),
              inputName: input.name,
              inputShape: input.shape.map((dim) => (typeof dim === 'number' ? dim : 1)),
              batch: config.batch,
              threads: rawThreads,
              ...perRound,
            }),
          );
          if (bare) collect('raw-ort-worker', { ...bare }, bare.threads ?? rawThreads);
        }
      } else {
        const preprocessing = versionEntry.preprocessing!;
        const result = await step(`raw-tfjs ${label} round ${round + 1}`, () =>
          page.evaluate((request) => window.bench.rawTfjs(request), {
            modelUrl: modelUrl(config.modelId, versionName, config.variant),
            backend: raw.backend,
            inputShape: [preprocessing.height, preprocessing.width, preprocessing.channels],
            batch: config.batch,
            ...perRound,
          }),
        );
        if (result) collect('raw-tfjs', { ...result }, null);
      }
    }
    for (const [kind, entry] of samples) {
      record({
        kind: kind as BenchRecord['kind'],
        context,
        model: config.modelId,
        backend: config.backend,
        variant: config.variant,
        batch: config.batch,
        threads: entry.threads,
        samplesMs: entry.samplesMs,
        detail: { ...entry.detail, roundP50s: entry.roundP50s },
      });
    }
  }

  try {
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...EXTRA_ARGS] });
    run.browser = { version: browser.version(), executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS, ...EXTRA_ARGS] };

    // 1. Cross-origin isolated page: engine (wasm threads) vs raw libraries, peer, auto, memory.
    const isolatedContext = await browser.newContext();
    await isolatedContext.route(/\/bench-models\//, async (route) => {
      const file = join(peerFolder, decodeURIComponent(new URL(route.request().url()).pathname.slice(localModelPath.length)));
      if (!file.startsWith(peerFolder) || !existsSync(file)) return route.fulfill({ status: 404, body: 'not found' });
      await route.fulfill({ status: 200, body: readFileSync(file), headers: { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' } });
    });
    let page = await openBenchPage(isolatedContext, server.url, consoleLog);
    const environment = await page.evaluate(() => window.bench.environment());
    run.environment = environment;
    const engineThreads = environment.engineWasmThreads ?? 1;
    log(`page: crossOriginIsolated=${environment.crossOriginIsolated}, engine wasm threads=${engineThreads}, webgpu=${environment.webgpu?.vendor}/${environment.webgpu?.architecture}`);

    // Warm-up pass, discarded: V8 tiers the onnxruntime-web .wasm up and caches the optimised code, so
    // the first configuration measured would otherwise pay for it.
    const warmupModel = { modelId: 'mobilenetv2', backend: 'ort-wasm', variant: 'fp32', runs: 30, warmup: 0, maxMs: 4_000 };
    if (wants('latency')) await step('warm-up pass (discarded)', async () => {
      await page.evaluate((request) => window.bench.engineRun(request), warmupModel);
      const input = manifest.models.mobilenetv2!.versions['1.0.0']!.inputs[0]!;
      await page.evaluate((request) => window.bench.rawOrt(request), {
        ...warmupModel,
        modelUrl: modelUrl('mobilenetv2', '1.0.0', 'fp32'),
        inputName: input.name,
        inputShape: input.shape.map((dim) => (typeof dim === 'number' ? dim : 1)),
        executionProvider: 'wasm' as const,
        threads: engineThreads,
      });
    });

    if (wants('latency')) for (const config of plan.engine) await engineAndRaw(page, config, 'isolated', engineThreads);

    for (const modelId of wants('auto') ? plan.autoModels : []) {
      for (const select of ['auto', 'benchmark'] as const) {
        const result = await step(`${select} ${modelId}`, () => page.evaluate((request) => window.bench.engineRun(request), { modelId, select, ...timing }));
        if (result) {
          const { samplesMs, ...detail } = result;
          record({ kind: 'auto', context: 'isolated', model: modelId, backend: result.backend, variant: result.variant, batch: 1, threads: result.wasmThreads, samplesMs, detail: { ...detail, select } });
        }
      }
    }

    const memory = plan.memory;
    if (wants('memory')) await step(`memory ${memory.modelId} ${memory.backend}`, async () => {
      const cdp = await browser!.newBrowserCDPSession();
      const rendererRss = async () => {
        // Every renderer and the GPU process: the page, its engine worker (WebAssembly memory included) and WebGPU/WebGL buffers.
        const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as { processInfo: { type: string; id: number }[] };
        let total = 0;
        for (const processEntry of processInfo.filter((entry) => entry.type === 'renderer' || entry.type === 'GPU')) {
          const status = readFileSync(`/proc/${processEntry.id}/status`, 'utf8');
          total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
        }
        return total;
      };
      const target = { modelId: memory.modelId, backend: memory.backend, variant: memory.variant, measureTimeoutMs: flags.quick ? 0 : 25_000 };
      const beforeRss = await rendererRss();
      const afterLoad = await page.evaluate((request) => window.bench.memoryLoad(request), target);
      const afterLoadRss = await rendererRss();
      const afterRuns = await page.evaluate((request) => window.bench.memoryRun(request), { runs: memory.runs, measureTimeoutMs: target.measureTimeoutMs });
      const afterRunsRss = await rendererRss();
      await page.evaluate(() => window.bench.memoryDispose());
      await cdp.detach();
      run.memory = [{ model: memory.modelId, backend: memory.backend, variant: memory.variant, runs: memory.runs, beforeRss, afterLoad: { ...afterLoad, rssBytes: afterLoadRss }, afterRuns: { ...afterRuns, rssBytes: afterRunsRss } }];
    });

    // Peer: Transformers.js on the same ONNX file, same backend (wasm) and thread count, image -> labels.
    const peer = plan.peer;
    const imageUrl = '/models/gallery/ankle-boot-0.png';
    const ours = !wants('peer') ? undefined : await step('ours classify', () => page.evaluate((request) => window.bench.oursClassify(request), { ...peer, imageUrl, threads: engineThreads, ...timing }));
    if (ours) {
      const { samplesMs, ...detail } = ours;
      record({ kind: 'ours-classify', context: 'isolated', model: peer.modelId, backend: peer.backend, variant: peer.variant, batch: 1, threads: engineThreads, samplesMs, detail });
    }
    const theirs = !wants('peer') ? undefined : await step('transformers.js classify', () =>
      page.evaluate((request) => window.bench.transformersClassify(request), { localModelPath, modelName: peer.modelId, imageUrl, threads: engineThreads, ...timing }),
    );
    if (theirs) {
      const { samplesMs, ...detail } = theirs;
      record({ kind: 'transformers-classify', context: 'isolated', model: peer.modelId, backend: 'wasm', variant: peer.variant, batch: 1, threads: engineThreads, samplesMs, detail });
    }

    // Telemetry: record() beside the Fashion-MNIST inference it reports (issue 9's client-overhead target).
    const telemetryRequest = { modelId: 'fashion-mnist', backend: 'ort-wasm', variant: 'fp32', recordsPerBlock: 20, runs: flags.quick ? 200 : 500, warmup: 20, maxMs: 0 };
    const telemetry = !wants('telemetry') ? undefined : await step('telemetry overhead', () => page.evaluate((request) => window.bench.telemetryOverhead(request), telemetryRequest));
    if (telemetry) {
      const common = { context: 'isolated' as const, model: telemetryRequest.modelId, backend: telemetryRequest.backend, variant: telemetryRequest.variant, batch: 1, threads: engineThreads };
      const detail = { recordsPerBlock: telemetryRequest.recordsPerBlock, delivered: telemetry.delivered };
      record({ kind: 'telemetry-record', ...common, samplesMs: telemetry.recordUs.map((us) => us / 1000), detail });
      record({ kind: 'telemetry-inference', ...common, samplesMs: telemetry.inferenceMs, detail });
      record({ kind: 'telemetry-engine', ...common, samplesMs: telemetry.withTelemetryMs, detail });
    }
    await page.close();
    await isolatedContext.close();

    // 2. Load: a fresh context is a first visit (empty HTTP cache and IndexedDB); then the same
    //    context after deleting IndexedDB (model cold, library files in the HTTP cache); then warm.
    const loads: Record<string, { phase: string; result: LoadResult }[]> = {};
    for (const target of wants('load') ? plan.load : []) {
      const name = `${target.modelId}|${target.backend}|${target.variant}`;
      loads[name] = [];
      for (let repeat = 0; repeat < plan.loadRepeats; repeat++) {
        const context = await browser.newContext();
        page = await openBenchPage(context, server.url, consoleLog);
        for (const phase of ['first-visit', 'warm', 'cleared-idb', 'warm'] as const) {
          if (phase === 'cleared-idb') await step('clear IndexedDB', () => page.evaluate(() => window.bench.clearModelCache()));
          const result = await step(`load ${name} ${phase} #${repeat + 1}`, () => page.evaluate((request) => window.bench.loadToFirstResult(request), target));
          if (result) loads[name]!.push({ phase, result });
        }
        await context.close();
      }
      for (const phase of ['first-visit', 'cleared-idb', 'warm']) {
        const entries = loads[name]!.filter((entry) => entry.phase === phase);
        if (entries.length === 0) continue;
        record({
          kind: 'load',
          context: 'isolated',
          model: target.modelId,
          backend: target.backend,
          variant: target.variant,
          batch: 1,
          threads: null,
          phase,
          samplesMs: entries.map((entry) => entry.result.firstResultMs),
          detail: { loads: entries.map((entry) => entry.result) },
        });
      }
    }

    // 3. A page without cross-origin isolation: the engine's wasm falls back to 1 thread (it cannot be
    //    told a thread count per page yet), and the raw reference is set to 1 thread to match.
    if (wants('threads')) {
      const plainContext = await browser.newContext();
      await plainContext.route(/\/bench\/(index\.html)?$/, async (route) => {
        const response = await route.fetch();
        const headers = { ...response.headers() };
        delete headers['cross-origin-opener-policy'];
        delete headers['cross-origin-embedder-policy'];
        await route.fulfill({ response, headers });
      });
      page = await openBenchPage(plainContext, server.url, consoleLog);
      const plainEnvironment = await page.evaluate(() => window.bench.environment());
      run.notIsolatedEnvironment = { crossOriginIsolated: plainEnvironment.crossOriginIsolated, engineWasmThreads: plainEnvironment.engineWasmThreads };
      for (const config of plan.singleThread) await engineAndRaw(page, config, 'not-isolated', 1);
      await plainContext.close();
    }

    // 4. Time to first result: each subject in fresh on-disk profiles (see ttfr-runner.ts).
    if (wants('ttfr')) {
      await step('time to first result', async () => {
        const common = { baseUrl: server.url, threads: engineThreads, localModelPath: ttfrModelPath, log };
        const samples = await runTimeToFirstResult({ ...common, models: ttfrModels, subjects: ['engine', 'raw-ort', 'transformers'], rounds: flags.quick ? 1 : 2, dwellMs: flags.quick ? 5_000 : 8_000, dwellGapMs: 250 });
        ttfr = { samples, webgpu: await runForcedWebGpu({ ...common, model: ttfrModels[0] }).catch((error: Error) => (errors.push({ step: 'ttfr webgpu forced', message: error.message }), undefined)) };
      });
    }
  } finally {
    await browser?.close();
    server.close();
  }

  const cpuList = cpus();
  const finished: BenchRun = {
    schemaVersion: 1,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    buildMs,
    command: `npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`,
    flags,
    machine: { cpuModel: cpuList[0]?.model ?? 'unknown', cores: cpuList.length, memoryBytes: totalmem(), os: `${type()} ${release()}`, node: process.version },
    browser: run.browser!,
    environment: run.environment!,
    notIsolatedEnvironment: run.notIsolatedEnvironment ?? null,
    memory: run.memory ?? [],
    manifestSizes: Object.fromEntries(
      Object.entries(manifest.models).map(([modelId, model]) => {
        const version = Object.values(model.versions)[0]!;
        return [modelId, Object.fromEntries(Object.entries(version.variants).map(([variant, entry]) => [variant, entry.files.reduce((total, file) => total + file.size, 0)]))];
      }),
    ),
    records,
    ttfr: ttfr ?? null,
    errors,
    steps,
    consoleLog: consoleLog.slice(0, 200),
  };
  const report = deriveReport(finished);
  const outDir = join(ROOT, 'bench-results');
  mkdirSync(outDir, { recursive: true });
  const stamp = finished.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const base = join(outDir, `${stamp}${flags.quick ? '-quick' : ''}`);
  const markdown = renderMarkdown(finished, report);
  writeFileSync(`${base}.json`, JSON.stringify({ ...finished, report }, null, 2));
  writeFileSync(`${base}.md`, markdown);
  const chartJs = readFileSync(join(ROOT, 'node_modules/chart.js/dist/chart.umd.min.js'), 'utf8');
  writeFileSync(`${base}.html`, renderHtml(finished, report, chartJs));
  console.log(markdown);
  if (flags.compare) console.log(compareRuns(JSON.parse(readFileSync(flags.compare, 'utf8')) as BenchRun, finished));
  console.log(`\nWrote ${base}.json, ${base}.html and ${base}.md in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}

await main();
// Leave nothing behind: Playwright keeps handles open a moment after close().
process.exit(0);

