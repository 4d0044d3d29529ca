// The contract between the benchmark page (bench-page.ts) and its Node runner (e2e/bench/run.ts):
// plain data only, since every call crosses page.evaluate.

export interface TimingOptions {
  readonly runs: number;
  readonly warmup: number;
  /** Stop timing a configuration after this long (at least 3 runs): SwiftShader can take seconds per run. */
  readonly maxMs: number;
  readonly batch?: number;
}

export interface EngineRunRequest extends TimingOptions {
  readonly modelId: string;
  /** Engine backend id ('ort-wasm', 'ort-webgpu', 'tfjs-webgl'...); omit for automatic selection. */
  readonly backend?: string;
  readonly variant?: string;
  /** Classify every gallery image after timing, for int8/fp32 agreement. */
  readonly gallery?: boolean;
  /** The engine's selection mode when no backend is given. */
  readonly select?: 'auto' | 'benchmark';
}

export interface GalleryPrediction {
  readonly file: string;
  readonly labelIndex: number;
  readonly top1: number;
}

export interface MemorySample {
  /** performance.measureUserAgentSpecificMemory(): page and its workers; null where unavailable. */
  readonly userAgentBytes: number | null;
  /** performance.memory.usedJSHeapSize of the page only (Chromium). */
  readonly pageJsHeapBytes: number | null;
}

export interface EngineRunResult {
  readonly backend: string;
  readonly version: string;
  readonly variant: string;
  readonly dtype: string;
  readonly sizeBytes: number;
  readonly selectionReason: string;
  readonly fallbacks: readonly { backend: string; code: string; message: string }[];
  readonly loadTimings: Record<string, number>;
  readonly fromCache: boolean;
  /** Wall time of model.run() on the page: what the app waits for. */
  readonly samplesMs: number[];
  /** The backend's own run time inside the worker, for the same runs. */
  readonly workerRunMs: number[];
  readonly gallery?: GalleryPrediction[];
  readonly wasmThreads: number | null;
}

export interface RawOrtRequest extends TimingOptions {
  readonly modelUrl: string;
  readonly inputName: string;
  readonly inputShape: readonly number[];
  readonly executionProvider: 'wasm' | 'webgpu';
  /** The engine's int8 session config (weights folded to float32 at load); false keeps the integer kernels. */
  readonly foldInt8Weights?: boolean;
}

export interface RawTfjsRequest extends TimingOptions {
  readonly modelUrl: string;
  readonly backend: 'webgl' | 'webgpu' | 'wasm';
  /** NHWC input shape, without the batch dim. */
  readonly inputShape: readonly number[];
}

export interface RawResult {
  readonly samplesMs: number[];
  readonly compileMs: number;
  readonly threads?: number;
  readonly activeBackend?: string;
}

export interface ClassifyRequest extends TimingOptions {
  readonly imageUrl: string;
  readonly threads: number;
}

export interface ClassifyResult {
  readonly samplesMs: number[];
  readonly loadMs: number;
  readonly topLabel: string;
  readonly backend?: string;
}

export interface LoadRequest {
  readonly modelId: string;
  readonly backend: string;
  readonly variant: string;
}

export interface LoadResult {
  /** createEngine() to the first result of model.run(): what a user waits for. */
  readonly firstResultMs: number;
  readonly loadMs: number;
  readonly firstRunMs: number;
  readonly fromCache: boolean;
  readonly timings: Record<string, number>;
}

export interface TelemetryOverheadRequest extends TimingOptions {
  readonly modelId: string;
  readonly backend: string;
  readonly variant: string;
  /** record() calls timed together (performance.now() is 5 µs coarse even when cross-origin isolated). */
  readonly recordsPerBlock: number;
}

export interface TelemetryOverheadResult {
  /** model.run() wall time on an engine without telemetry, interleaved with the next two. */
  readonly inferenceMs: number[];
  /** model.run() wall time on an engine created with `telemetry` (every inference recorded). */
  readonly withTelemetryMs: number[];
  /** Mean time of one telemetry.record(inference event) per block, in µs, one block after each inference. */
  readonly recordUs: number[];
  /** Events the telemetry clients handed to their (local, answering-at-once) fetch. */
  readonly delivered: number;
}

export interface BenchEnvironment {
  readonly userAgent: string;
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly deviceMemoryGb: number | null;
  readonly webgpu: { vendor: string; architecture: string; device: string; description: string; isFallbackAdapter: boolean | null; features: string[] } | null;
  readonly webgl: { vendor: string; renderer: string } | null;
  readonly engineProbe: Record<string, unknown>;
  readonly engineWasmThreads: number | null;
  readonly measureMemoryAvailable: boolean;
}

export interface TtfrRequest {
  /** engine: createEngine/load/run; raw-ort: onnxruntime-web's wasm-only build, create, run; transformers: its pipeline. */
  readonly subject: 'engine' | 'raw-ort' | 'transformers';
  readonly modelId: string;
  readonly variant: string;
  readonly backend?: string;
  /** createEngine({ warm }) */
  readonly warm?: readonly string[];
  readonly modelUrl: string;
  readonly inputName: string;
  readonly inputShape: readonly number[];
  readonly threads: number;
  /** Transformers.js: where its model folders are served, and the image its pipeline classifies. */
  readonly localModelPath: string;
  readonly imageUrl: string;
  /** The model's input channels: a one-channel model gets a grayscale image in Transformers.js. */
  readonly channels: number;
}

export interface TtfrResult {
  /** From the subject's first line (createEngine(), or the library's import on this page) to the first output. */
  readonly firstResultMs: number;
  readonly loadMs: number;
  readonly backend: string;
  readonly fromCache: boolean;
  readonly timings: Record<string, number>;
}

export interface BenchApi {
  /** Time to first result; the subject's library stays loaded on the page for the next call. */
  timeToFirstResult(request: TtfrRequest): Promise<TtfrResult>;
  /** The last time-to-first-result model, run again `runs` times, `gapMs` apart (the page kept open). */
  dwell(request: { readonly runs: number; readonly gapMs: number }): Promise<{ readonly runs: number; readonly ms: number }>;
  environment(): Promise<BenchEnvironment>;
  engineRun(request: EngineRunRequest): Promise<EngineRunResult>;
  rawOrt(request: RawOrtRequest & { readonly threads: number }): Promise<RawResult>;
  /** onnxruntime-web's wasm-only build in a bare worker (bare-ort-worker.ts): the page<->worker hop with no engine. */
  rawOrtWorker(request: Omit<RawOrtRequest, 'executionProvider' | 'foldInt8Weights'> & { readonly threads: number }): Promise<RawResult & { readonly workerRunMs: number[] }>;
  rawTfjs(request: RawTfjsRequest): Promise<RawResult>;
  oursClassify(request: ClassifyRequest & { readonly modelId: string; readonly backend: string; readonly variant: string }): Promise<ClassifyResult>;
  transformersClassify(request: ClassifyRequest & { readonly localModelPath: string; readonly modelName: string }): Promise<ClassifyResult>;
  loadToFirstResult(request: LoadRequest): Promise<LoadResult>;
  /** The telemetry client's cost on the inference path, beside the inference it reports. */
  telemetryOverhead(request: TelemetryOverheadRequest): Promise<TelemetryOverheadResult>;
  /** Memory is sampled by the runner between these calls (renderer RSS), and on the page where it can be. */
  memoryLoad(request: LoadRequest & { readonly measureTimeoutMs: number }): Promise<MemorySample>;
  memoryRun(request: { readonly runs: number; readonly measureTimeoutMs: number }): Promise<MemorySample>;
  memoryDispose(): Promise<void>;
  clearModelCache(): Promise<string[]>;
}

declare global {
  interface Window {
    bench: BenchApi;
    benchReady?: boolean;
  }
}
