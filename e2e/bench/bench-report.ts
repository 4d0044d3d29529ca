// Turns raw samples into the figures the issue asks for, the targets, and the Markdown/HTML reports.
import type { BenchEnvironment, GalleryPrediction, LoadResult, MemorySample } from '../../demo/bench/bench-api.js';
import { formatBytes, formatMs, formatRatio, type SampleStats } from './stats.js';
import type { TtfrSample } from './ttfr-runner.js';
import { ttfrReport } from './ttfr-report.js';

export interface BenchRecord {
  readonly key: string;
  readonly kind: 'engine' | 'raw-ort' | 'raw-ort-worker' | 'raw-ort-integer' | 'raw-tfjs' | 'auto' | 'ours-classify' | 'transformers-classify' | 'load' | 'telemetry-record' | 'telemetry-inference' | 'telemetry-engine';
  readonly context: 'isolated' | 'not-isolated';
  readonly model: string;
  readonly backend: string;
  readonly variant: string;
  readonly batch: number;
  readonly threads: number | null;
  readonly phase?: string;
  readonly samplesMs: number[];
  readonly stats: SampleStats;
  readonly detail: Record<string, unknown>;
}

export interface BenchRun {
  readonly schemaVersion: 1;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly buildMs: number;
  readonly command: string;
  readonly flags: Record<string, unknown>;
  readonly machine: { cpuModel: string; cores: number; memoryBytes: number; os: string; node: string };
  readonly browser: { version: string; executablePath: string; args: string[] };
  readonly environment: BenchEnvironment;
  readonly notIsolatedEnvironment: { crossOriginIsolated: boolean; engineWasmThreads: number | null } | null;
  readonly memory: { model: string; backend: string; variant: string; beforeRss: number; afterLoad: MemorySample & { rssBytes: number }; afterRuns: MemorySample & { rssBytes: number }; runs: number }[];
  readonly manifestSizes: Record<string, Record<string, number>>;
  readonly records: BenchRecord[];
  /** Time to first result (fresh on-disk profiles); absent in runs from before it existed. */
  readonly ttfr?: { readonly samples: readonly TtfrSample[]; readonly webgpu: TtfrSample | undefined } | null;
  readonly errors: { step: string; message: string }[];
  readonly steps: { step: string; seconds: number; loadAverage1m: number }[];
  readonly consoleLog: string[];
}

interface Table {
  readonly title: string;
  readonly columns: string[];
  readonly rows: string[][];
  readonly notes?: string[];
}

interface Target {
  readonly name: string;
  readonly target: string;
  readonly value: string;
  readonly met: boolean | null;
  readonly note: string;
}

export interface BenchReport {
  readonly tables: Table[];
  readonly targets: Target[];
  readonly charts: { latency: { labels: string[]; engine: number[]; raw: (number | null)[] }; load: { labels: string[]; phases: Record<string, number[]> } };
}

function find(records: readonly BenchRecord[], match: Partial<BenchRecord>): BenchRecord | undefined {
  return records.find((record) => Object.entries(match).every(([key, value]) => record[key as keyof BenchRecord] === value));
}

const threadsLabel = (record: BenchRecord) => (record.backend.endsWith('wasm') && record.threads !== null ? String(record.threads) : '-');

function galleryOf(record: BenchRecord | undefined): GalleryPrediction[] | undefined {
  return record?.detail.gallery as GalleryPrediction[] | undefined;
}

export function deriveReport(run: BenchRun): BenchReport {
  const records = run.records;
  const tables: Table[] = [];
  const targets: Target[] = [];
  const engine = records.filter((record) => record.kind === 'engine');

  // Latency: engine in its worker vs the raw library on the page, same work.
  const latencyRows: string[][] = [];
  const chartLabels: string[] = [];
  const chartEngine: number[] = [];
  const chartRaw: (number | null)[] = [];
  for (const record of engine) {
    const rawKind = record.backend.startsWith('tfjs') ? 'raw-tfjs' : 'raw-ort';
    const raw = find(records, { kind: rawKind, context: record.context, model: record.model, backend: record.backend, variant: record.variant, batch: record.batch });
    const ratio = raw ? record.stats.p50 / raw.stats.p50 : undefined;
    const bare = find(records, { kind: 'raw-ort-worker', context: record.context, model: record.model, backend: record.backend, variant: record.variant, batch: record.batch });
    const workerRuns = (record.detail.workerRunMs as number[] | undefined) ?? [];
    const workerP50 = workerRuns.length ? [...workerRuns].sort((a, b) => a - b)[Math.floor(workerRuns.length / 2)] : undefined;
    const fallbacks = (record.detail.fallbacks as unknown[] | undefined)?.length ?? 0;
    latencyRows.push([
      record.model,
      record.backend,
      record.variant,
      String(record.batch),
      threadsLabel(record),
      formatMs(record.stats.p50),
      formatMs(record.stats.p95),
      formatMs(record.stats.min),
      formatMs(record.stats.max),
      String(record.stats.n),
      formatMs(workerP50),
      raw ? formatMs(raw.stats.p50) : '-',
      formatRatio(ratio),
      bare ? formatMs(bare.stats.p50) : '-',
      formatRatio(bare ? record.stats.p50 / bare.stats.p50 : undefined),
      fallbacks ? `${fallbacks} fallback(s)` : '',
    ]);
    if (record.context === 'isolated') {
      chartLabels.push(`${record.model} ${record.backend} ${record.variant} b${record.batch}`);
      chartEngine.push(record.stats.p50);
      chartRaw.push(raw ? raw.stats.p50 : null);
    }
  }
  tables.push({
    title: 'Latency: engine (worker) vs raw library (page), ms over warm runs',
    columns: ['model', 'backend', 'variant', 'batch', 'threads', 'p50', 'p95', 'min', 'max', 'n', 'worker run p50', 'raw p50', 'engine/raw', 'bare worker p50', 'engine/bare worker', ''],
    rows: latencyRows,
    notes: [
      'Engine = wall time of model.run() on the page (input copied to the worker, run, output back). "worker run p50" = the backend run alone, inside the worker. Raw = the same model file, input and batch through onnxruntime-web / TF.js on the page\'s main thread, output read back.',
      'Rows with threads 1 ran on a page without cross-origin isolation (see "wasm threads").',
      '"bare worker" = the same onnxruntime-web wasm-only build, model and input in a plain worker with no engine (demo/bench/bare-ort-worker.ts: input copied in, output transferred back): the least any worker design pays per call. engine/bare worker is the engine\'s own cost; bare worker/raw is the page<->worker hop.',
    ],
  });

  const overheadTarget = find(records, { kind: 'engine', context: 'isolated', model: 'mobilenetv2', backend: 'ort-wasm', variant: 'fp32', batch: 1 });
  const overheadRaw = find(records, { kind: 'raw-ort', context: 'isolated', model: 'mobilenetv2', backend: 'ort-wasm', variant: 'fp32', batch: 1 });
  if (overheadTarget && overheadRaw) {
    const ratio = overheadTarget.stats.p50 / overheadRaw.stats.p50;
    targets.push({
      name: 'Engine overhead, MobileNetV2 fp32 on wasm',
      target: '<= 1.05x raw onnxruntime-web',
      value: `${formatRatio(ratio)} (${formatMs(overheadTarget.stats.p50)} vs ${formatMs(overheadRaw.stats.p50)} ms p50, ${overheadTarget.threads} threads)`,
      met: ratio <= 1.05,
      note: ratio <= 1.05 ? '' : 'see the latency table: worker run p50 vs raw p50 separates the backend from the page<->worker copy',
    });
  }
  const otherOverheads = engine
    .map((record) => ({ record, raw: find(records, { kind: record.backend.startsWith('tfjs') ? 'raw-tfjs' : 'raw-ort', context: record.context, model: record.model, backend: record.backend, variant: record.variant, batch: record.batch }) }))
    .filter((pair) => pair.raw && pair.record !== overheadTarget);
  if (otherOverheads.length) {
    const worst = otherOverheads.reduce((a, b) => (a.record.stats.p50 / a.raw!.stats.p50 > b.record.stats.p50 / b.raw!.stats.p50 ? a : b));
    const ratio = worst.record.stats.p50 / worst.raw!.stats.p50;
    targets.push({
      name: 'Engine overhead, every other configuration (worst)',
      target: '<= 1.05x raw on the same backend',
      value: `${formatRatio(ratio)} on ${worst.record.model} ${worst.record.backend} ${worst.record.variant} b${worst.record.batch} (${worst.record.context}): ${formatMs(worst.record.stats.p50)} vs ${formatMs(worst.raw!.stats.p50)} ms`,
      met: ratio <= 1.05,
      note: ratio <= 1.05 ? '' : 'sub-millisecond models: the fixed page<->worker round trip (postMessage both ways) dominates',
    });
  }

  // Peer: Transformers.js image-classification pipeline on the same ONNX file.
  const ours = find(records, { kind: 'ours-classify' });
  const theirs = find(records, { kind: 'transformers-classify' });
  if (ours || theirs) {
    const rows = [ours, theirs].filter((record): record is BenchRecord => Boolean(record)).map((record) => [
      record.kind === 'ours-classify' ? 'edgeinfer model.classify (worker)' : 'Transformers.js pipeline (page)',
      `${record.model} ${record.variant}`,
      `wasm, ${record.threads} threads`,
      formatMs(record.stats.p50),
      formatMs(record.stats.p95),
      formatMs(record.stats.min),
      formatMs(record.stats.max),
      String(record.stats.n),
      formatMs(record.detail.loadMs as number),
      String(record.detail.topLabel),
    ]);
    tables.push({
      title: 'Peer: image -> labels, end to end (decode, resize, normalise, run, softmax, top 5), ms',
      columns: ['library', 'model', 'backend', 'p50', 'p95', 'min', 'max', 'n', 'load', 'top-1'],
      rows,
      notes: ['Same ONNX file (input renamed to pixel_values for Transformers.js), same PNG Blob, same resize-to-224 + ImageNet mean/std, allowRemoteModels=false, files served locally.'],
    });
    if (ours && theirs) {
      const ratio = ours.stats.p50 / theirs.stats.p50;
      targets.push({
        name: 'edgeinfer vs Transformers.js, image -> labels, MobileNetV2 wasm',
        target: '<= 1.0x',
        value: `${formatRatio(ratio)} (${formatMs(ours.stats.p50)} vs ${formatMs(theirs.stats.p50)} ms p50)`,
        met: ratio <= 1.0,
        note: ours.detail.topLabel === theirs.detail.topLabel ? 'same top-1 label' : `top-1 differs (${String(ours.detail.topLabel)} vs ${String(theirs.detail.topLabel)}): untrained model, near-tied logits`,
      });
    }
  }

  // Telemetry: the client's cost on the inference path.
  const recordCost = find(records, { kind: 'telemetry-record' });
  const plainInference = find(records, { kind: 'telemetry-inference' });
  const reportingInference = find(records, { kind: 'telemetry-engine' });
  if (recordCost && plainInference && reportingInference) {
    const us = (ms: number) => `${(ms * 1000).toFixed(2)} µs`;
    tables.push({
      title: `Telemetry on the inference path: ${plainInference.model} ${plainInference.variant} on ${plainInference.backend}`,
      columns: ['what', 'p50', 'p95', 'min', 'n'],
      rows: [
        ['telemetry.record(inference event), per call', us(recordCost.stats.p50), us(recordCost.stats.p95), us(recordCost.stats.min), String(recordCost.stats.n)],
        ['model.run(), engine without telemetry', `${formatMs(plainInference.stats.p50)} ms`, `${formatMs(plainInference.stats.p95)} ms`, `${formatMs(plainInference.stats.min)} ms`, String(plainInference.stats.n)],
        ['model.run(), engine with telemetry (every run recorded)', `${formatMs(reportingInference.stats.p50)} ms`, `${formatMs(reportingInference.stats.p95)} ms`, `${formatMs(reportingInference.stats.min)} ms`, String(reportingInference.stats.n)],
      ],
      notes: [
        `record() is timed in blocks of ${String(recordCost.detail.recordsPerBlock)} calls, one block after each inference; batches go to a fetch that answers at once (${String(recordCost.detail.delivered)} events handed over). The two engines run alternately, run by run.`,
      ],
    });
    const fraction = recordCost.stats.p50 / plainInference.stats.p50;
    targets.push({
      name: `telemetry record() / ${plainInference.model} inference (${plainInference.backend})`,
      target: '<= 1%',
      value: `${(fraction * 100).toFixed(2)}% (${us(recordCost.stats.p50)} / ${formatMs(plainInference.stats.p50)} ms p50); engine with telemetry ${formatRatio(reportingInference.stats.p50 / plainInference.stats.p50)} without`,
      met: fraction <= 0.01,
      note: '',
    });
  }

  // Load: time to first result, split.
  const loadRecords = records.filter((record) => record.kind === 'load');
  const loadRows: string[][] = [];
  const loadChartLabels: string[] = [];
  const phases: Record<string, number[]> = { manifest: [], download: [], verify: [], cache: [], compile: [], 'warm-up': [], 'first run': [], 'other (worker, library)': [] };
  for (const record of loadRecords) {
    const loads = record.detail.loads as LoadResult[];
    const median = (pick: (load: LoadResult) => number) => [...loads.map(pick)].sort((a, b) => a - b)[Math.floor(loads.length / 2)]!;
    const parts = {
      manifest: median((load) => load.timings.manifestMs ?? 0),
      download: median((load) => load.timings.downloadMs ?? 0),
      verify: median((load) => load.timings.verifyMs ?? 0),
      cache: median((load) => load.timings.cacheMs ?? 0),
      compile: median((load) => load.timings.compileMs ?? 0),
      'warm-up': median((load) => load.timings.warmupMs ?? 0),
      'first run': median((load) => load.firstRunMs),
    };
    const other = record.stats.p50 - Object.values(parts).reduce((total, value) => total + value, 0);
    loadRows.push([
      record.model,
      `${record.backend} ${record.variant}`,
      record.phase ?? '',
      loads.every((load) => load.fromCache) ? 'yes' : loads.some((load) => load.fromCache) ? 'some' : 'no',
      formatMs(record.stats.p50),
      ...Object.values(parts).map(formatMs),
      formatMs(other),
      String(record.stats.n),
    ]);
    loadChartLabels.push(`${record.model} ${record.variant} ${record.phase}`);
    for (const [name, value] of Object.entries(parts)) phases[name]!.push(value);
    phases['other (worker, library)']!.push(Math.max(0, other));
  }
  if (loadRows.length) {
    tables.push({
      title: 'Load: createEngine() to first result, ms (median over repeats)',
      columns: ['model', 'backend', 'phase', 'from cache', 'first result', 'manifest', 'download', 'verify', 'cache', 'compile', 'warm-up', 'first run', 'other', 'n'],
      rows: loadRows,
      notes: [
        'first-visit = a fresh browser context (empty HTTP cache and IndexedDB): model and library files come from the local server. cleared-idb = same context after deleting IndexedDB: the model is downloaded again, the library .wasm is in the HTTP cache. warm = the model from IndexedDB.',
        '"other" = worker start, library import and .wasm compile, probing: not in model.info.timings.',
      ],
    });
    for (const model of new Set(loadRecords.map((record) => `${record.model}|${record.backend}|${record.variant}`))) {
      const [id, backend, variant] = model.split('|');
      const cold = find(records, { kind: 'load', model: id, backend, variant, phase: 'cleared-idb' }) ?? find(records, { kind: 'load', model: id, backend, variant, phase: 'first-visit' });
      const first = find(records, { kind: 'load', model: id, backend, variant, phase: 'first-visit' });
      const warm = find(records, { kind: 'load', model: id, backend, variant, phase: 'warm' });
      if (!cold || !warm) continue;
      const ratio = warm.stats.p50 / cold.stats.p50;
      targets.push({
        name: `Warm load markedly faster than cold, ${id} ${variant}`,
        target: 'warm < cold (markedly: <= 0.5x)',
        value: `warm ${formatMs(warm.stats.p50)} ms vs cold ${formatMs(cold.stats.p50)} ms (${formatRatio(ratio)})${first ? `; first visit ${formatMs(first.stats.p50)} ms` : ''}`,
        met: ratio <= 0.5,
        note: ratio <= 0.5 ? '' : 'on a local server the download is cheap: most of the load is compile + warm-up, which a cache cannot save',
      });
    }
  }

  // Auto-selection regret.
  const autoRows: string[][] = [];
  for (const auto of records.filter((record) => record.kind === 'auto')) {
    const sameVariant = engine.filter((record) => record.context === 'isolated' && record.model === auto.model && record.batch === 1 && record.variant === auto.variant);
    const any = engine.filter((record) => record.context === 'isolated' && record.model === auto.model && record.batch === 1);
    const best = sameVariant.reduce<BenchRecord | undefined>((a, b) => (!a || b.stats.p50 < a.stats.p50 ? b : a), undefined);
    const bestAny = any.reduce<BenchRecord | undefined>((a, b) => (!a || b.stats.p50 < a.stats.p50 ? b : a), undefined);
    const chosen = sameVariant.find((record) => record.backend === auto.backend);
    const chosenP50 = chosen?.stats.p50 ?? auto.stats.p50;
    const regret = best ? chosenP50 / best.stats.p50 - 1 : undefined;
    const select = String(auto.detail.select ?? 'auto');
    autoRows.push([
      auto.model,
      select,
      `${auto.backend} ${auto.variant}`,
      String(auto.detail.selectionReason ?? ''),
      formatMs(auto.stats.p50),
      best ? `${best.backend} ${formatMs(best.stats.p50)}` : '-',
      regret === undefined ? '-' : `${(regret * 100).toFixed(1)} %`,
      bestAny ? `${bestAny.backend} ${bestAny.variant} ${formatMs(bestAny.stats.p50)}` : '-',
      String(sameVariant.length),
    ]);
    if (regret !== undefined) {
      targets.push({
        name: `Selection regret (select: '${select}'), ${auto.model}`,
        target: '<= 5 %',
        value: `${(regret * 100).toFixed(1)} % (${select}: ${auto.backend} ${auto.variant}; best of ${sameVariant.length} measured: ${best!.backend})`,
        met: regret <= 0.05,
        note: sameVariant.length < 2 ? 'only one backend measured for this model in this run' : '',
      });
    }
  }
  if (autoRows.length) {
    tables.push({
      title: "Selection: what the engine picks with select 'auto' (the default) and 'benchmark', against the best backend measured",
      columns: ['model', 'select', 'picked', 'why', 'p50', 'best (same variant) p50', 'regret', 'best any variant', 'backends measured'],
      rows: autoRows,
      notes: ["'auto' orders backends by the device's facts (a software adapter ranks below wasm); 'benchmark' times the candidates once and remembers the winner per device, model and version. Regret uses the table's p50 for the chosen backend."],
    });
  }

  // Throughput: batch 1 vs 8.
  const throughputRows: string[][] = [];
  for (const batched of engine.filter((record) => record.batch > 1)) {
    const single = find(records, { kind: 'engine', context: batched.context, model: batched.model, backend: batched.backend, variant: batched.variant, batch: 1 });
    if (!single) continue;
    const perSecond = (record: BenchRecord) => (record.batch * 1000) / record.stats.p50;
    throughputRows.push([batched.model, batched.backend, batched.variant, perSecond(single).toFixed(0), `${perSecond(batched).toFixed(0)} (batch ${batched.batch})`, formatRatio(perSecond(batched) / perSecond(single))]);
  }
  if (throughputRows.length) tables.push({ title: 'Throughput through the engine, images/s (from p50)', columns: ['model', 'backend', 'variant', 'batch 1', 'batched', 'gain'], rows: throughputRows });

  // Memory.
  if (run.memory.length) {
    tables.push({
      title: 'Memory',
      columns: ['model', 'backend', 'browser RSS before load', 'after load', 'after N runs', 'runs', 'page + workers (measureUserAgentSpecificMemory) after load / runs', 'page JS heap after load / runs'],
      rows: run.memory.map((entry) => [
        `${entry.model} ${entry.variant}`,
        entry.backend,
        formatBytes(entry.beforeRss),
        `${formatBytes(entry.afterLoad.rssBytes)} (+${formatBytes(entry.afterLoad.rssBytes - entry.beforeRss)})`,
        `${formatBytes(entry.afterRuns.rssBytes)} (+${formatBytes(entry.afterRuns.rssBytes - entry.beforeRss)})`,
        String(entry.runs),
        `${formatBytes(entry.afterLoad.userAgentBytes)} / ${formatBytes(entry.afterRuns.userAgentBytes)}`,
        `${formatBytes(entry.afterLoad.pageJsHeapBytes)} / ${formatBytes(entry.afterRuns.pageJsHeapBytes)}`,
      ]),
      notes: [
        'RSS = resident memory of every Chromium renderer and the GPU process (read from /proc via the CDP process list): the page, the engine worker with its WebAssembly memory, GPU buffers. measureUserAgentSpecificMemory() answers at Chromium\'s next GC (up to 20 s): skipped ("-") in --quick. performance.memory is the page\'s JS heap only.',
      ],
    });
  }

  // int8 vs fp32.
  const int8Rows: string[][] = [];
  const pairs: [string, string][] = [
    ['int8', 'fp32'],
    ['int8-qdq', 'fp32'],
    ['tfjs-uint8', 'tfjs'],
  ];
  for (const quantized of engine.filter((record) => record.batch === 1 && record.context === 'isolated')) {
    const base = pairs.find(([name]) => name === quantized.variant)?.[1];
    if (!base) continue;
    const full = find(records, { kind: 'engine', context: 'isolated', model: quantized.model, backend: quantized.backend, variant: base, batch: 1 });
    const sizeQuantized = run.manifestSizes[quantized.model]?.[quantized.variant];
    const sizeFull = run.manifestSizes[quantized.model]?.[base];
    const integer = find(records, { kind: 'raw-ort-integer', model: quantized.model, backend: quantized.backend, variant: quantized.variant, batch: 1 });
    const fullRaw = find(records, { kind: 'raw-ort', context: 'isolated', model: quantized.model, backend: quantized.backend, variant: base, batch: 1 });
    const a = galleryOf(quantized);
    const b = galleryOf(full);
    const agreement = a && b ? a.filter((entry, index) => b[index]?.top1 === entry.top1).length : undefined;
    const accuracy = (predictions: GalleryPrediction[] | undefined) => (predictions ? `${predictions.filter((entry) => entry.top1 === entry.labelIndex).length}/${predictions.length}` : '-');
    int8Rows.push([
      quantized.model,
      quantized.backend,
      `${quantized.variant} vs ${base}`,
      sizeQuantized && sizeFull ? `${formatBytes(sizeQuantized)} vs ${formatBytes(sizeFull)} (${formatRatio(sizeQuantized / sizeFull)})` : '-',
      full ? `${formatMs(quantized.stats.p50)} vs ${formatMs(full.stats.p50)} (${formatRatio(quantized.stats.p50 / full.stats.p50)})` : '-',
      integer && fullRaw ? `${formatMs(integer.stats.p50)} (${formatRatio(integer.stats.p50 / fullRaw.stats.p50)} of fp32 raw)` : '-',
      agreement !== undefined ? `${agreement}/${a!.length}` : '-',
      quantized.model === 'fashion-mnist' ? `${accuracy(a)} vs ${accuracy(b)}` : 'n/a (untrained)',
    ]);
  }
  if (int8Rows.length) {
    tables.push({
      title: 'int8 vs fp32 (engine, batch 1)',
      columns: ['model', 'backend', 'variants', 'download size', 'engine p50 ms', 'raw ORT with integer kernels p50', 'top-1 agreement (gallery)', 'gallery accuracy'],
      rows: int8Rows,
      notes: [
        'On wasm the engine folds int8 weights to float32 at load (session option disable_quant_qdq): int8 is a download and cache-size win that runs at fp32 speed. The "integer kernels" column is onnxruntime-web running the same int8 file as it is, on the page.',
        'MobileNetV2 here is untrained: near-tied logits make top-1 agreement a poor measure for it (see its model card).',
      ],
    });
    const wasmInt8 = engine.find((record) => record.model === 'mobilenetv2' && record.backend === 'ort-wasm' && record.variant === 'int8' && record.batch === 1 && record.context === 'isolated');
    const wasmFp32 = find(records, { kind: 'engine', context: 'isolated', model: 'mobilenetv2', backend: 'ort-wasm', variant: 'fp32', batch: 1 });
    const integer = find(records, { kind: 'raw-ort-integer', model: 'mobilenetv2', backend: 'ort-wasm', variant: 'int8', batch: 1 });
    const integerQdq = find(records, { kind: 'raw-ort-integer', model: 'mobilenetv2', backend: 'ort-wasm', variant: 'int8-qdq', batch: 1 });
    const fp32Raw = find(records, { kind: 'raw-ort', context: 'isolated', model: 'mobilenetv2', backend: 'ort-wasm', variant: 'fp32', batch: 1 });
    if (wasmInt8 && wasmFp32) {
      const ratio = wasmInt8.stats.p50 / wasmFp32.stats.p50;
      targets.push({
        name: 'int8 on wasm faster than fp32 (or the reason), MobileNetV2',
        target: 'int8 p50 < fp32 p50, or a reason',
        value: `${formatRatio(ratio)} (${formatMs(wasmInt8.stats.p50)} vs ${formatMs(wasmFp32.stats.p50)} ms)`,
        met: ratio < 1,
        note: (() => {
          const integerRatio = integer && fp32Raw ? integer.stats.p50 / fp32Raw.stats.p50 : undefined;
          const measured = integerRatio === undefined ? '' : ` Raw integer kernels here: int8 ${formatRatio(integerRatio)}${integerQdq && fp32Raw ? `, int8-qdq ${formatRatio(integerQdq.stats.p50 / fp32Raw.stats.p50)}` : ''} of raw fp32`;
          const agrees = integerRatio === undefined || integerRatio >= 1;
          return `The engine folds int8 weights to fp32 on wasm (DESIGN.md: integer kernels are slower), so int8 is a download win (${formatRatio((run.manifestSizes.mobilenetv2?.int8 ?? 0) / (run.manifestSizes.mobilenetv2?.fp32 ?? 1))} the size), not a speed-up.${measured}${agrees ? ', consistent with that.' : ': this run does not confirm it (see the load average; rerun on a quiet machine).'}`;
        })(),
      });
    }
  }

  // Threads.
  const threadRows: string[][] = [];
  for (const single of engine.filter((record) => record.context === 'not-isolated')) {
    const threaded = find(records, { kind: 'engine', context: 'isolated', model: single.model, backend: single.backend, variant: single.variant, batch: single.batch });
    const rawSingle = find(records, { kind: 'raw-ort', context: 'not-isolated', model: single.model, backend: single.backend, variant: single.variant, batch: single.batch });
    const rawThreaded = find(records, { kind: 'raw-ort', context: 'isolated', model: single.model, backend: single.backend, variant: single.variant, batch: single.batch });
    threadRows.push([
      `${single.model} ${single.variant}`,
      threaded ? `${formatMs(threaded.stats.p50)} (${threaded.threads} threads)` : '-',
      `${formatMs(single.stats.p50)} (${single.threads} thread)`,
      rawThreaded ? `${formatMs(rawThreaded.stats.p50)} (${rawThreaded.threads})` : '-',
      rawSingle ? `${formatMs(rawSingle.stats.p50)} (${rawSingle.threads})` : '-',
      threaded ? formatRatio(single.stats.p50 / threaded.stats.p50) : '-',
    ]);
  }
  if (threadRows.length) {
    tables.push({
      title: 'wasm threads: cross-origin isolated page vs a page without isolation, p50 ms',
      columns: ['model', 'engine, isolated', 'engine, not isolated', 'raw, isolated', 'raw, 1 thread', '1 thread / threads (engine)'],
      rows: threadRows,
      notes: ['The engine cannot be told a thread count per page yet (it uses half the cores, at most 4, when cross-origin isolated, else 1): its 1-thread figure comes from a page served without COOP/COEP.'],
    });
  }

  if (run.ttfr) {
    const ttfr = ttfrReport(run.ttfr.samples, run.ttfr.webgpu);
    tables.push(...ttfr.tables);
    targets.push(...ttfr.targets);
  }
  const fashionB1 = find(records, { kind: 'engine', context: 'isolated', model: 'fashion-mnist', backend: 'ort-wasm', variant: 'fp32', batch: 1 });
  const fashionB1Raw = find(records, { kind: 'raw-ort', context: 'isolated', model: 'fashion-mnist', backend: 'ort-wasm', variant: 'fp32', batch: 1 });
  if (fashionB1 && fashionB1Raw) {
    const ratio = fashionB1.stats.p50 / fashionB1Raw.stats.p50;
    const bare = find(records, { kind: 'raw-ort-worker', context: 'isolated', model: 'fashion-mnist', backend: 'ort-wasm', variant: 'fp32', batch: 1 });
    const note = bare
      ? `a bare worker running the same library (no engine) is ${formatRatio(bare.stats.p50 / fashionB1Raw.stats.p50)} raw (${formatMs(bare.stats.p50)} ms); the engine is ${formatRatio(fashionB1.stats.p50 / bare.stats.p50)} the bare worker`
      : '';
    targets.push({ name: 'Per-call overhead, Fashion-MNIST fp32 batch 1 on wasm', target: '<= 1.5x raw onnxruntime-web', value: `${formatRatio(ratio)} (${formatMs(fashionB1.stats.p50)} vs ${formatMs(fashionB1Raw.stats.p50)} ms p50)`, met: ratio <= 1.5, note });
  }

  return { tables, targets, charts: { latency: { labels: chartLabels, engine: chartEngine, raw: chartRaw }, load: { labels: loadChartLabels, phases } } };
}

function markdownTable(table: Table): string {
  const lines = [`### ${table.title}`, '', `| ${table.columns.join(' | ')} |`, `|${table.columns.map(() => '---').join('|')}|`, ...table.rows.map((row) => `| ${row.join(' | ')} |`)];
  for (const note of table.notes ?? []) lines.push('', `_${note}_`);
  return lines.join('\n');
}

export function describeMachine(run: BenchRun): string {
  const gpu = run.environment.webgpu;
  return [
    `${run.machine.cpuModel}, ${run.machine.cores} cores, ${(run.machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, ${run.machine.os}`,
    `Chromium ${run.browser.version} (Debian), headless`,
    `WebGPU adapter: ${gpu ? `${gpu.vendor}/${gpu.architecture} ${gpu.description}`.trim() : 'none'}; WebGL: ${run.environment.webgl?.renderer ?? 'none'}`,
    `cross-origin isolated: ${run.environment.crossOriginIsolated}; engine wasm threads: ${run.environment.engineWasmThreads}`,
  ].join('\n- ');
}

export function renderMarkdown(run: BenchRun, report: BenchReport): string {
  const lines = [
    `## edgeinfer benchmark, ${run.startedAt}`,
    '',
    `Command: \`${run.command}\` (${(run.durationMs / 1000).toFixed(0)} s including a ${(run.buildMs / 1000).toFixed(0)} s build; runs ${String(run.flags.runs)}, warm-up ${String(run.flags.warmup)}, at most ${String(run.flags.maxMs)} ms of timed runs per configuration)`,
    '',
    `- ${describeMachine(run)}`,
    '',
    '**WebGPU and WebGL figures are SwiftShader (the GPU emulated on the CPU), not GPU numbers.**',
    '',
    `1-minute load average during the run: ${Math.min(...run.steps.map((entry) => entry.loadAverage1m)).toFixed(2)}-${Math.max(...run.steps.map((entry) => entry.loadAverage1m)).toFixed(2)} on ${run.machine.cores} cores (the machine is shared; every step's value is in the JSON).`,
    '',
    '### Targets',
    '',
    '| target | goal | measured | met | note |',
    '|---|---|---|---|---|',
    ...report.targets.map((target) => `| ${target.name} | ${target.target} | ${target.value} | ${target.met === null ? '-' : target.met ? 'yes' : '**no**'} | ${target.note} |`),
    '',
    ...report.tables.map((table) => `${markdownTable(table)}\n`),
  ];
  if (run.errors.length) lines.push('### Steps that failed', '', ...run.errors.map((error) => `- ${error.step}: ${error.message}`), '');
  return lines.join('\n');
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderHtml(run: BenchRun, report: BenchReport, chartJs: string): string {
  const table = (entry: Table) =>
    `<h2>${escapeHtml(entry.title)}</h2><table><thead><tr>${entry.columns.map((column) => `<th>${escapeHtml(column)}</th>`).join('')}</tr></thead><tbody>${entry.rows
      .map((row) => `<tr>${row.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`)
      .join('')}</tbody></table>${(entry.notes ?? []).map((note) => `<p class="note">${escapeHtml(note)}</p>`).join('')}`;
  const targets: Table = {
    title: 'Targets',
    columns: ['target', 'goal', 'measured', 'met', 'note'],
    rows: report.targets.map((target) => [target.name, target.target, target.value, target.met === null ? '-' : target.met ? 'yes' : 'NO', target.note]),
  };
  const chartData = JSON.stringify(report.charts).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgeinfer benchmark ${escapeHtml(run.startedAt)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2rem;max-width:1400px;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
.note{color:#555;font-size:12px;max-width:1100px}.warn{background:#fff3cd;padding:.5rem 1rem;border:1px solid #e0c060}
.chart{position:relative;height:420px;max-width:1300px}
</style></head><body>
<h1>edgeinfer benchmark</h1>
<p>${escapeHtml(run.startedAt)} · <code>${escapeHtml(run.command)}</code> · ${(run.durationMs / 1000).toFixed(0)} s</p>
<ul><li>${describeMachine(run).split('\n- ').map(escapeHtml).join('</li><li>')}</li></ul>
<p class="warn">WebGPU and WebGL figures are SwiftShader (the GPU emulated on the CPU), not GPU numbers.</p>
${table(targets)}
<h2>Latency p50, engine vs raw (ms, log scale)</h2><div class="chart"><canvas id="latency"></canvas></div>
<h2>Load to first result, split (ms)</h2><div class="chart"><canvas id="load"></canvas></div>
${report.tables.map(table).join('\n')}
${run.errors.length ? `<h2>Steps that failed</h2><ul>${run.errors.map((error) => `<li>${escapeHtml(`${error.step}: ${error.message}`)}</li>`).join('')}</ul>` : ''}
<p class="note">Every raw sample is in the JSON file written beside this report.</p>
<script>${chartJs}</script>
<script>
const data = ${chartData};
new Chart(document.getElementById('latency'), {
  type: 'bar',
  data: { labels: data.latency.labels, datasets: [
    { label: 'engine (worker)', data: data.latency.engine, backgroundColor: '#3b6fd8' },
    { label: 'raw library (page)', data: data.latency.raw, backgroundColor: '#e08a2c' } ] },
  options: { maintainAspectRatio: false, indexAxis: 'y', scales: { x: { type: 'logarithmic', title: { display: true, text: 'p50 ms' } } } },
});
const colors = ['#888', '#3b6fd8', '#6fb06f', '#b05fb0', '#e08a2c', '#d84b4b', '#2aa3a3', '#bbb'];
new Chart(document.getElementById('load'), {
  type: 'bar',
  data: { labels: data.load.labels, datasets: Object.entries(data.load.phases).map(([label, values], index) => ({ label, data: values, backgroundColor: colors[index % colors.length] })) },
  options: { maintainAspectRatio: false, indexAxis: 'y', scales: { x: { stacked: true, title: { display: true, text: 'ms' } }, y: { stacked: true } } },
});
</script>
</body></html>
`;
}

/** `--compare old.json`: p50 ratios (new / old) for every configuration present in both runs. */
export function compareRuns(previous: BenchRun, current: BenchRun): string {
  const old = new Map(previous.records.map((record) => [record.key, record]));
  const rows = current.records
    .filter((record) => old.has(record.key))
    .map((record) => {
      const before = old.get(record.key)!;
      const ratio = record.stats.p50 / before.stats.p50;
      return `| ${record.key} | ${formatMs(before.stats.p50)} | ${formatMs(record.stats.p50)} | ${formatRatio(ratio)}${ratio > 1.1 ? ' slower' : ratio < 0.9 ? ' faster' : ''} |`;
    });
  const missing = [...old.keys()].filter((key) => !current.records.some((record) => record.key === key));
  return [
    `### Compared with ${previous.startedAt} (p50 ms, new / old)`,
    '',
    '| configuration | old | new | ratio |',
    '|---|---|---|---|',
    ...rows,
    ...(missing.length ? ['', `_Not measured in this run: ${missing.join(', ')}_`] : []),
  ].join('\n');
}
