// Time to first result: each subject (the engine, raw onnxruntime-web's shortest path, Transformers.js)
// in its own fresh browser profile (a persistent one: Chromium keeps compiled wasm only in an
// on-disk profile, never in an incognito-like context). Per profile: a first visit to one model, then
// a second model in the same running page; then the browser is closed and started again on the same
// profile for a repeat visit (new browser process, new page, files in its HTTP cache and IndexedDB).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import type { TtfrRequest, TtfrResult } from '../../demo/bench/bench-api.js';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js';

export type TtfrSubject = TtfrRequest['subject'];
export type TtfrPhase = 'first-visit' | 'second-model' | 'repeat-visit';

export interface DownloadEntry {
  readonly url: string;
  readonly status: number;
  /** Response body bytes that crossed the network (0 for a 304 or a cache hit). */
  readonly bodyBytes: number;
}

export interface TtfrSample {
  readonly subject: TtfrSubject;
  readonly model: string;
  readonly phase: TtfrPhase;
  readonly result: TtfrResult;
  readonly downloads: readonly DownloadEntry[];
  /** Summed from the network log, by kind. */
  readonly bytes: { readonly total: number; readonly ortWasm: number; readonly model: number; readonly other: number };
  readonly ortWasmFiles: readonly string[];
  /** Bytes in the profile's Code Cache/wasm when this visit started (the compiled wasm Chromium kept), repeat visits only. */
  readonly wasmCodeCacheBytes?: number;
}

export interface TtfrModel {
  readonly modelId: string;
  readonly variant: string;
  readonly modelUrl: string;
  readonly inputName: string;
  readonly inputShape: readonly number[];
  readonly imageUrl: string;
  readonly channels: number;
}

export interface TtfrOptions {
  readonly baseUrl: string;
  readonly models: readonly [TtfrModel, TtfrModel];
  readonly subjects: readonly TtfrSubject[];
  readonly rounds: number;
  readonly threads: number;
  readonly localModelPath: string;
  /**
   * How long the first page stays open after its answers (a user trying a few more inputs): the second
   * model runs again every `dwellGapMs` meanwhile. V8 writes its compiled-wasm cache only once dynamic
   * tiering has optimised enough code, after a delay, so a page closed at once may never get one.
   */
  readonly dwellMs: number;
  readonly dwellGapMs?: number;
  readonly log: (message: string) => void;
}

const isOrtWasm = (url: string) => /ort-wasm[^/]*\.wasm(\?|$)/.test(url);
const isModel = (url: string) => /\/(models|bench-models)\//.test(url) && !url.endsWith('.png');

function tally(downloads: readonly DownloadEntry[]): TtfrSample['bytes'] {
  let ortWasm = 0;
  let model = 0;
  let other = 0;
  for (const entry of downloads) {
    if (isOrtWasm(entry.url)) ortWasm += entry.bodyBytes;
    else if (isModel(entry.url)) model += entry.bodyBytes;
    else other += entry.bodyBytes;
  }
  return { total: ortWasm + model + other, ortWasm, model, other };
}

/** Every finished request of the profile (page and workers), from the moment `mark()` is called. */
function networkLog(context: BrowserContext) {
  let entries: Promise<DownloadEntry>[] = [];
  context.on('requestfinished', (request) => {
    entries.push(
      (async () => {
        const [sizes, response] = await Promise.all([request.sizes().catch(() => ({ responseBodySize: 0 })), request.response().catch(() => null)]);
        return { url: request.url(), status: response?.status() ?? 0, bodyBytes: sizes.responseBodySize };
      })(),
    );
  });
  return {
    mark: () => void (entries = []),
    take: async () => {
      const taken = await Promise.all(entries);
      entries = [];
      return taken;
    },
  };
}

/** Every file's bytes under `dir` (0 when it does not exist). */
function folderBytes(dir: string): number {
  let total = 0;
  try {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      total += entry.isDirectory() ? folderBytes(path) : statSync(path).size;
    }
  } catch {
    // not created (yet)
  }
  return total;
}

/** Chromium's compiled-wasm cache in a profile (an empty cache is its index file only, under 100 bytes). */
export const wasmCodeCacheBytes = (profile: string) => folderBytes(join(profile, 'Default', 'Code Cache', 'wasm'));

async function launch(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

async function openPage(context: BrowserContext, baseUrl: string): Promise<Page> {
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${baseUrl}/bench/`);
  await page.waitForFunction(() => window.benchReady === true, undefined, { timeout: 60_000 });
  return page;
}

export async function runTimeToFirstResult(options: TtfrOptions): Promise<TtfrSample[]> {
  const samples: TtfrSample[] = [];
  const request = (subject: TtfrSubject, model: TtfrModel, extra: Partial<TtfrRequest> = {}): TtfrRequest => ({
    subject,
    modelId: model.modelId,
    variant: model.variant,
    modelUrl: model.modelUrl,
    inputName: model.inputName,
    inputShape: model.inputShape,
    threads: options.threads,
    localModelPath: options.localModelPath,
    imageUrl: model.imageUrl,
    channels: model.channels,
    ...(subject === 'engine' ? { backend: 'ort-wasm' } : {}),
    ...extra,
  });
  async function measure(page: Page, log: ReturnType<typeof networkLog>, subject: TtfrSubject, model: TtfrModel, phase: TtfrPhase, extra: Partial<TtfrRequest> = {}, codeCache?: number) {
    log.mark();
    const result = await page.evaluate((body) => window.bench.timeToFirstResult(body), request(subject, model, extra));
    // Requests a worker started just before the answer may finish a moment later.
    await page.waitForTimeout(200);
    const downloads = await log.take();
    const sample: TtfrSample = { subject, model: model.modelId, phase, result, downloads, bytes: tally(downloads), ortWasmFiles: downloads.filter((entry) => isOrtWasm(entry.url) && entry.bodyBytes > 0).map((entry) => entry.url.split('/').pop()!), ...(codeCache === undefined ? {} : { wasmCodeCacheBytes: codeCache }) };
    samples.push(sample);
    options.log(`ttfr ${subject} ${model.modelId} ${phase}: ${result.firstResultMs.toFixed(0)} ms, ${(sample.bytes.total / 1e6).toFixed(1)} MB (ort wasm ${(sample.bytes.ortWasm / 1e6).toFixed(1)} MB)${codeCache === undefined ? '' : `, wasm code cache ${codeCache} B`}`);
    return sample;
  }

  // The first Chromium start of a run pays once for what every later start finds warm (the binary and
  // its libraries in the page cache, font and GPU caches): a discarded start keeps that off the first subject.
  const discarded = mkdtempSync(join(tmpdir(), 'edgeinfer-ttfr-'));
  try {
    const context = await launch(discarded);
    await openPage(context, options.baseUrl);
    await context.close();
  } finally {
    rmSync(discarded, { recursive: true, force: true });
  }

  let turn = 0;
  for (let round = 0; round < options.rounds; round++) {
    for (const [first, second] of [options.models, [options.models[1], options.models[0]] as const]) {
      // Each pass starts with a different subject, so none always follows the heaviest one.
      const shift = turn++ % options.subjects.length;
      for (const subject of [...options.subjects.slice(shift), ...options.subjects.slice(0, shift)]) {
        const profile = mkdtempSync(join(tmpdir(), 'edgeinfer-ttfr-'));
        try {
          let context = await launch(profile);
          let log = networkLog(context);
          let page = await openPage(context, options.baseUrl);
          await measure(page, log, subject, first, 'first-visit');
          await measure(page, log, subject, second, 'second-model');
          const gapMs = options.dwellGapMs ?? 250;
          await page.evaluate((request) => window.bench.dwell(request), { runs: Math.ceil(options.dwellMs / gapMs), gapMs });
          await context.close();
          const codeCache = wasmCodeCacheBytes(profile);
          context = await launch(profile);
          log = networkLog(context);
          page = await openPage(context, options.baseUrl);
          await measure(page, log, subject, first, 'repeat-visit', {}, codeCache);
          await context.close();
        } finally {
          rmSync(profile, { recursive: true, force: true });
        }
      }
    }
  }
  return samples;
}

/** WebGPU forced on a fresh profile: which onnxruntime-web builds the engine downloads. */
export async function runForcedWebGpu(options: Pick<TtfrOptions, 'baseUrl' | 'threads' | 'localModelPath' | 'log'> & { readonly model: TtfrModel }): Promise<TtfrSample> {
  const profile = mkdtempSync(join(tmpdir(), 'edgeinfer-ttfr-'));
  try {
    const context = await launch(profile);
    const log = networkLog(context);
    const page = await openPage(context, options.baseUrl);
    log.mark();
    const body: TtfrRequest = {
      subject: 'engine',
      modelId: options.model.modelId,
      variant: options.model.variant,
      backend: 'ort-webgpu',
      modelUrl: options.model.modelUrl,
      inputName: options.model.inputName,
      inputShape: options.model.inputShape,
      threads: options.threads,
      localModelPath: options.localModelPath,
      imageUrl: options.model.imageUrl,
      channels: options.model.channels,
    };
    const result = await page.evaluate((request) => window.bench.timeToFirstResult(request), body);
    await page.waitForTimeout(200);
    const downloads = await log.take();
    await context.close();
    const sample: TtfrSample = { subject: 'engine', model: options.model.modelId, phase: 'first-visit', result, downloads, bytes: tally(downloads), ortWasmFiles: downloads.filter((entry) => isOrtWasm(entry.url) && entry.bodyBytes > 0).map((entry) => entry.url.split('/').pop()!) };
    options.log(`ttfr engine ${options.model.modelId} WebGPU forced: ${result.backend}, ort wasm ${sample.ortWasmFiles.join(', ')}`);
    return sample;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}
