// The "time to first result" table and its targets (issue 16), from the samples ttfr-runner.ts took.
import type { TtfrPhase, TtfrSample, TtfrSubject } from './ttfr-runner.js';
import { formatBytes, formatMs, formatRatio, summarize } from './stats.js';

interface TtfrTable {
  readonly title: string;
  readonly columns: string[];
  readonly rows: string[][];
  readonly notes?: string[];
}

interface TtfrTarget {
  readonly name: string;
  readonly target: string;
  readonly value: string;
  readonly met: boolean | null;
  readonly note: string;
}

const SUBJECTS: Record<TtfrSubject, string> = {
  engine: 'edgeinfer (createEngine, load, run)',
  'raw-ort': 'onnxruntime-web wasm-only build (import, create, run)',
  transformers: 'Transformers.js pipeline (import, pipeline, classify)',
};

export function ttfrReport(samples: readonly TtfrSample[], webgpu: TtfrSample | undefined): { tables: TtfrTable[]; targets: TtfrTarget[] } {
  const of = (subject: TtfrSubject, model: string, phase: TtfrPhase) => samples.filter((sample) => sample.subject === subject && sample.model === model && sample.phase === phase);
  const median = (subject: TtfrSubject, model: string, phase: TtfrPhase) => {
    const found = of(subject, model, phase);
    return found.length ? summarize(found.map((sample) => sample.result.firstResultMs)).p50 : undefined;
  };
  const bytes = (subject: TtfrSubject, model: string, phase: TtfrPhase) => {
    const found = of(subject, model, phase);
    if (!found.length) return undefined;
    return { total: summarize(found.map((sample) => sample.bytes.total)).p50, ortWasm: Math.max(...found.map((sample) => sample.bytes.ortWasm)) };
  };
  const codeCache = (subject: TtfrSubject, model: string) => {
    const found = of(subject, model, 'repeat-visit').flatMap((sample) => (sample.wasmCodeCacheBytes === undefined ? [] : [sample.wasmCodeCacheBytes]));
    return found.length ? Math.max(...found) : undefined;
  };
  const models = [...new Set(samples.map((sample) => sample.model))];
  const rows: string[][] = [];
  for (const model of models) {
    for (const subject of Object.keys(SUBJECTS) as TtfrSubject[]) {
      if (!of(subject, model, 'first-visit').length) continue;
      const first = median(subject, model, 'first-visit');
      const repeat = median(subject, model, 'repeat-visit');
      const firstBytes = bytes(subject, model, 'first-visit');
      const repeatBytes = bytes(subject, model, 'repeat-visit');
      const n = of(subject, model, 'first-visit').length;
      rows.push([
        model,
        SUBJECTS[subject],
        formatMs(first),
        formatMs(repeat),
        formatRatio(first && repeat ? repeat / first : undefined),
        formatMs(median(subject, model, 'second-model')),
        formatBytes(firstBytes?.total),
        formatBytes(firstBytes?.ortWasm),
        formatBytes(repeatBytes?.total),
        formatBytes(codeCache(subject, model)),
        String(n),
      ]);
    }
  }
  const tables: TtfrTable[] = [
    {
      title: 'Time to first result, ms (median over fresh browser profiles)',
      columns: ['model', 'subject', 'first visit', 'repeat visit', 'repeat / first', 'second model in a running page', 'downloaded, first visit', 'of it onnxruntime-web .wasm', 'downloaded, repeat visit', 'Code Cache/wasm before the repeat visit', 'profiles'],
      rows,
      notes: [
        'Each subject in its own fresh on-disk Chromium profile (nothing shared with the others). First visit = the first call on a page of a fresh profile; second model = the other model, next, on that running page; repeat visit = the browser closed and started again on the same profile, a new page, the first model again (the engine finds it in IndexedDB; raw onnxruntime-web and Transformers.js get what the HTTP cache and their own caches give them).',
        'Timed from the subject\'s first line on the page (createEngine(), or the library\'s import()) to the first output read back. Bytes are response bodies in the browser\'s network log (page and workers) during that call: 0 for a revalidated (304) or cached file.',
        'Before the browser closes, the first page stays open as a user\'s would: the last model runs again every 250 ms (8 s in a full run). "Code Cache/wasm" is the profile\'s compiled-wasm cache after that visit (under 100 B = its empty index: Chromium kept no compiled code).',
      ],
    },
  ];
  if (webgpu) {
    tables.push({
      title: 'onnxruntime-web builds downloaded by the engine with WebGPU forced (fresh profile)',
      columns: ['model', 'backend', 'first result ms', 'onnxruntime-web .wasm files downloaded', 'their bytes'],
      rows: [[webgpu.model, webgpu.result.backend, formatMs(webgpu.result.firstResultMs), webgpu.ortWasmFiles.join(', ') || '-', formatBytes(webgpu.bytes.ortWasm)]],
    });
  }

  const targets: TtfrTarget[] = [];
  for (const model of models) {
    const first = median('engine', model, 'first-visit');
    const repeat = median('engine', model, 'repeat-visit');
    const raw = median('raw-ort', model, 'first-visit');
    const transformers = median('transformers', model, 'first-visit');
    if (first !== undefined && repeat !== undefined) {
      targets.push({ name: `Repeat visit, ${model}`, target: "<= 0.35x the engine's first visit", value: `${formatRatio(repeat / first)} (${formatMs(repeat)} vs ${formatMs(first)} ms)`, met: repeat / first <= 0.35, note: '' });
    }
    if (first !== undefined && raw !== undefined) {
      targets.push({ name: `First visit vs raw onnxruntime-web, ${model}`, target: '<= 1.1x its shortest path', value: `${formatRatio(first / raw)} (${formatMs(first)} vs ${formatMs(raw)} ms)`, met: first / raw <= 1.1, note: '' });
    }
    if (first !== undefined && transformers !== undefined) {
      targets.push({ name: `First visit vs Transformers.js, ${model}`, target: '<= 0.6x its pipeline', value: `${formatRatio(first / transformers)} (${formatMs(first)} vs ${formatMs(transformers)} ms)`, met: first / transformers <= 0.6, note: '' });
    }
    const engineBytes = of('engine', model, 'first-visit').map((sample) => sample.bytes.ortWasm);
    if (engineBytes.length) {
      const most = Math.max(...engineBytes);
      targets.push({ name: `onnxruntime-web .wasm downloaded on wasm, ${model}`, target: '<= 15 MB', value: formatBytes(most), met: most <= 15e6, note: '' });
    }
  }
  if (webgpu) {
    const onlyWebGpu = webgpu.ortWasmFiles.length > 0 && webgpu.ortWasmFiles.every((file) => /\.(jspi|asyncify|jsep)[-.]/.test(file));
    targets.push({ name: 'WebGPU forced: only a WebGPU build downloaded', target: 'no wasm-only build', value: webgpu.ortWasmFiles.join(', ') || 'none', met: onlyWebGpu && webgpu.result.backend === 'ort-webgpu', note: '' });
  }
  return { tables, targets };
}
