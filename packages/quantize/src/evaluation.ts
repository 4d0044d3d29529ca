import * as ort from 'onnxruntime-node';
import type { SampleSet } from './sample-data.js';

export interface EvaluationOptions {
  readonly inputName: string;
  readonly samples: SampleSet;
  /** Class index per sample; when given, accuracy is measured too. */
  readonly labels?: Uint8Array;
  readonly batchSize?: number;
  /** Timed runs per model for the latency p50 (batch 1); 0 skips latency. */
  readonly latencyRuns?: number;
  /** intra-op threads, the same for both models. */
  readonly threads?: number;
  /**
   * Where to time: 'cpu' is onnxruntime-node's native CPU provider; 'wasm' is onnxruntime-web's
   * WebAssembly build (the one browsers run), loaded in Node. Default both.
   */
  readonly latencyRuntimes?: readonly LatencyRuntime[];
}

export type LatencyRuntime = 'cpu' | 'wasm';

export interface LatencyComparison {
  readonly runtime: string;
  readonly threads: number;
  readonly runs: number;
  readonly batch: 1;
  readonly float32P50Ms: number;
  readonly int8P50Ms: number;
  /** int8 p50 / float32 p50: below 1 means int8 is faster. */
  readonly ratio: number;
}

export interface Evaluation {
  readonly samples: number;
  /** Share of samples whose top-1 class is the same for both models. */
  readonly top1Agreement: number;
  readonly accuracy?: { readonly float32: number; readonly int8: number; readonly dropPoints: number };
  /** |int8 - float32| over every output value; `float32MeanAbs` gives the scale it compares against. */
  readonly logitAbsDiff: { readonly max: number; readonly mean: number; readonly float32MeanAbs: number };
  /** Cosine similarity of each sample's int8 and float32 output vectors. */
  readonly outputCosine: { readonly mean: number; readonly min: number };
  readonly latency?: readonly LatencyComparison[];
}

/** The slice of onnxruntime's InferenceSession that node and web builds share. */
interface TimedSession {
  run(feeds: Record<string, unknown>): Promise<unknown>;
  release(): Promise<void>;
}

/** Each build checks feeds with its own Tensor class, so tensors come from the same build as the session. */
interface TimedRuntime {
  readonly runtime: string;
  create(bytes: Uint8Array): Promise<TimedSession>;
  tensor(data: Float32Array, dims: readonly number[]): unknown;
}

/** Runs the float32 and the int8 model on the same samples and compares their outputs (first graph output). */
export async function evaluateQuantized(float32Model: Uint8Array, int8Model: Uint8Array, options: EvaluationOptions): Promise<Evaluation> {
  const threads = options.threads ?? 1;
  const sessionOptions: ort.InferenceSession.SessionOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' };
  const float32 = await ort.InferenceSession.create(float32Model, sessionOptions);
  const int8 = await ort.InferenceSession.create(int8Model, sessionOptions);
  try {
    const reference = await runAll(float32, options);
    const candidate = await runAll(int8, options);
    const classes = reference.length / options.samples.count;
    let agree = 0;
    let correctFloat32 = 0;
    let correctInt8 = 0;
    let maxDiff = 0;
    let sumDiff = 0;
    for (let s = 0; s < options.samples.count; s += 1) {
      const a = argmax(reference, s * classes, classes);
      const b = argmax(candidate, s * classes, classes);
      if (a === b) agree += 1;
      if (options.labels) {
        if (a === options.labels[s]) correctFloat32 += 1;
        if (b === options.labels[s]) correctInt8 += 1;
      }
    }
    let sumAbs = 0;
    for (let i = 0; i < reference.length; i += 1) {
      const diff = Math.abs((reference[i] as number) - (candidate[i] as number));
      maxDiff = Math.max(maxDiff, diff);
      sumDiff += diff;
      sumAbs += Math.abs(reference[i] as number);
    }
    const cosines = Array.from({ length: options.samples.count }, (_, s) => cosine(reference, candidate, s * classes, classes));
    const count = options.samples.count;
    const latencyRuns = options.latencyRuns ?? 0;
    return {
      samples: count,
      top1Agreement: agree / count,
      ...(options.labels
        ? { accuracy: { float32: correctFloat32 / count, int8: correctInt8 / count, dropPoints: ((correctFloat32 - correctInt8) / count) * 100 } }
        : {}),
      logitAbsDiff: { max: maxDiff, mean: sumDiff / reference.length, float32MeanAbs: sumAbs / reference.length },
      outputCosine: { mean: cosines.reduce((a, b) => a + b, 0) / cosines.length, min: Math.min(...cosines) },
      ...(latencyRuns > 0 ? { latency: await measureLatency(float32Model, int8Model, options, latencyRuns, threads) } : {}),
    };
  } finally {
    await float32.release();
    await int8.release();
  }
}

async function runAll(session: ort.InferenceSession, { inputName, samples, batchSize = 50 }: EvaluationOptions): Promise<Float32Array> {
  const sampleSize = samples.data.length / samples.count;
  const outputName = session.outputNames[0] as string;
  const parts: Float32Array[] = [];
  for (let start = 0; start < samples.count; start += batchSize) {
    const size = Math.min(batchSize, samples.count - start);
    const data = samples.data.subarray(start * sampleSize, (start + size) * sampleSize);
    const outputs = await session.run({ [inputName]: new ort.Tensor('float32', data, [size, ...samples.sampleDims]) });
    parts.push(Float32Array.from((outputs[outputName] as ort.Tensor).data as Float32Array));
  }
  const out = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

async function measureLatency(
  float32Model: Uint8Array,
  int8Model: Uint8Array,
  options: EvaluationOptions,
  runs: number,
  threads: number,
): Promise<LatencyComparison[]> {
  const results: LatencyComparison[] = [];
  for (const name of options.latencyRuntimes ?? ['cpu', 'wasm']) {
    results.push(await compareLatency(await loadRuntime(name, threads), float32Model, int8Model, options, runs, threads));
  }
  return results;
}

async function loadRuntime(name: LatencyRuntime, threads: number): Promise<TimedRuntime> {
  if (name === 'cpu') {
    return {
      runtime: `onnxruntime-node ${ort.env.versions.common} (native CPU)`,
      create: (bytes) => ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' }),
      tensor: (data, dims) => new ort.Tensor('float32', data, dims),
    };
  }
  // Imported only when asked for: it loads a 10 MB WebAssembly binary.
  const web = await import('onnxruntime-web');
  web.env.wasm.numThreads = threads;
  return {
    runtime: `onnxruntime-web ${web.env.versions.common} (wasm, SIMD, run in Node)`,
    create: (bytes) => web.InferenceSession.create(bytes, { executionProviders: ['wasm'] }),
    tensor: (data, dims) => new web.Tensor('float32', data, dims),
  };
}

/** Batch-1 p50 for both models in one process, runs interleaved so drift in CPU speed hits both alike. */
async function compareLatency(
  runtime: TimedRuntime,
  float32Model: Uint8Array,
  int8Model: Uint8Array,
  { inputName, samples }: EvaluationOptions,
  runs: number,
  threads: number,
): Promise<LatencyComparison> {
  const float32 = await runtime.create(float32Model);
  const int8 = await runtime.create(int8Model);
  try {
    const sampleSize = samples.data.length / samples.count;
    const feeds = { [inputName]: runtime.tensor(samples.data.slice(0, sampleSize), [1, ...samples.sampleDims]) };
    const warmup = Math.max(3, Math.ceil(runs / 10));
    for (let i = 0; i < warmup; i += 1) {
      await float32.run(feeds);
      await int8.run(feeds);
    }
    const times = { float32: [] as number[], int8: [] as number[] };
    for (let i = 0; i < runs; i += 1) {
      times.float32.push(await timeRun(float32, feeds));
      times.int8.push(await timeRun(int8, feeds));
    }
    const float32P50Ms = median(times.float32);
    const int8P50Ms = median(times.int8);
    return { runtime: runtime.runtime, threads, runs, batch: 1, float32P50Ms, int8P50Ms, ratio: int8P50Ms / float32P50Ms };
  } finally {
    await float32.release();
    await int8.release();
  }
}

async function timeRun(session: TimedSession, feeds: Record<string, unknown>): Promise<number> {
  const start = performance.now();
  await session.run(feeds);
  return performance.now() - start;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i += 1) if ((values[offset + i] as number) > (values[offset + best] as number)) best = i;
  return best;
}

function cosine(a: Float32Array, b: Float32Array, offset: number, length: number): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = offset; i < offset + length; i += 1) {
    dot += (a[i] as number) * (b[i] as number);
    normA += (a[i] as number) ** 2;
    normB += (b[i] as number) ** 2;
  }
  return normA === 0 || normB === 0 ? (normA === normB ? 1 : 0) : dot / Math.sqrt(normA * normB);
}
