// What a run measures. --quick keeps every kind of figure but only the configurations that fit in
// five minutes on a 2-core machine: the small Fashion-MNIST model on the GPU backends (SwiftShader
// here), MobileNetV2 on wasm.

export interface EngineConfig {
  readonly modelId: string;
  readonly backend: string;
  readonly variant: string;
  readonly batch: number;
  /** Also run the same work through the raw library on the page. */
  readonly raw?: { readonly library: 'ort'; readonly executionProvider: 'wasm' | 'webgpu' } | { readonly library: 'tfjs'; readonly backend: 'webgl' | 'webgpu' | 'wasm' };
  readonly gallery?: boolean;
  /** int8 on wasm: also time the raw library with its integer kernels (what the engine avoids). */
  readonly rawIntegerKernels?: boolean;
}

export interface BenchPlan {
  readonly engine: readonly EngineConfig[];
  readonly autoModels: readonly string[];
  readonly memory: { readonly modelId: string; readonly backend: string; readonly variant: string; readonly runs: number };
  readonly peer: { readonly modelId: string; readonly backend: string; readonly variant: string };
  readonly load: readonly { readonly modelId: string; readonly backend: string; readonly variant: string }[];
  readonly loadRepeats: number;
  /** Run on a page without cross-origin isolation: the engine's wasm then uses 1 thread. */
  readonly singleThread: readonly EngineConfig[];
}

const ortWasm = { library: 'ort', executionProvider: 'wasm' } as const;
const ortWebGpu = { library: 'ort', executionProvider: 'webgpu' } as const;

export function createPlan(quick: boolean): BenchPlan {
  const fashion = 'fashion-mnist';
  const mobilenet = 'mobilenetv2';
  // wasm first, SwiftShader last: SwiftShader keeps CPU threads busy for a while after its work.
  const quickEngine: EngineConfig[] = [
    { modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32', batch: 1, raw: ortWasm, gallery: true },
    { modelId: mobilenet, backend: 'ort-wasm', variant: 'int8', batch: 1, raw: ortWasm, gallery: true, rawIntegerKernels: true },
    { modelId: mobilenet, backend: 'ort-wasm', variant: 'int8-qdq', batch: 1, raw: ortWasm, gallery: true, rawIntegerKernels: true },
    { modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32', batch: 8, raw: ortWasm },
    { modelId: fashion, backend: 'ort-wasm', variant: 'fp32', batch: 1, raw: ortWasm, gallery: true },
    { modelId: fashion, backend: 'ort-wasm', variant: 'int8', batch: 1, raw: ortWasm, gallery: true, rawIntegerKernels: true },
    { modelId: fashion, backend: 'ort-wasm', variant: 'fp32', batch: 8, raw: ortWasm },
    { modelId: fashion, backend: 'tfjs-webgl', variant: 'tfjs', batch: 1, raw: { library: 'tfjs', backend: 'webgl' } },
    { modelId: fashion, backend: 'ort-webgpu', variant: 'fp32', batch: 1, raw: ortWebGpu },
  ];
  const quickPlan: BenchPlan = {
    engine: quickEngine,
    autoModels: [fashion, mobilenet],
    memory: { modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32', runs: 100 },
    peer: { modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32' },
    load: [{ modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32' }],
    loadRepeats: 1,
    singleThread: [{ modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32', batch: 1, raw: ortWasm }],
  };
  if (quick) return quickPlan;

  const engine: EngineConfig[] = [];
  for (const batch of [1, 8]) {
    const gallery = batch === 1;
    engine.push(
      { modelId: fashion, backend: 'ort-webgpu', variant: 'fp32', batch, raw: ortWebGpu, gallery },
      { modelId: fashion, backend: 'ort-wasm', variant: 'fp32', batch, raw: ortWasm, gallery },
      { modelId: fashion, backend: 'ort-wasm', variant: 'int8', batch, raw: ortWasm, gallery, rawIntegerKernels: batch === 1 },
    );
    for (const tfjsBackend of ['webgl', 'webgpu', 'wasm'] as const) {
      engine.push(
        { modelId: fashion, backend: `tfjs-${tfjsBackend}`, variant: 'tfjs', batch, raw: { library: 'tfjs', backend: tfjsBackend }, gallery },
        { modelId: fashion, backend: `tfjs-${tfjsBackend}`, variant: 'tfjs-uint8', batch, gallery },
      );
    }
    engine.push(
      { modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32', batch, raw: ortWasm, gallery },
      { modelId: mobilenet, backend: 'ort-wasm', variant: 'int8', batch, raw: ortWasm, gallery, rawIntegerKernels: batch === 1 },
      { modelId: mobilenet, backend: 'ort-wasm', variant: 'int8-qdq', batch, raw: ortWasm, gallery, rawIntegerKernels: batch === 1 },
    );
  }
  // No MobileNetV2 on WebGPU: SwiftShader (the GPU emulated on the CPU) took 145 s a round for it
  // (session, warm-up and a few seconds-long runs, engine and raw), a run that never finished, and the
  // figure says nothing about a GPU. Fashion-MNIST above keeps the WebGPU path measured end to end.
  for (const tfjsBackend of ['webgl', 'wasm', 'webgpu'] as const) {
    engine.push({ modelId: 'content-safety', backend: `tfjs-${tfjsBackend}`, variant: 'tfjs-uint8', batch: 1, gallery: true });
  }
  return {
    ...quickPlan,
    engine,
    autoModels: [fashion, mobilenet, 'content-safety'],
    load: [
      { modelId: fashion, backend: 'ort-wasm', variant: 'fp32' },
      { modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32' },
      { modelId: mobilenet, backend: 'ort-wasm', variant: 'int8' },
    ],
    loadRepeats: 3,
    singleThread: [
      { modelId: fashion, backend: 'ort-wasm', variant: 'fp32', batch: 1, raw: ortWasm },
      { modelId: mobilenet, backend: 'ort-wasm', variant: 'fp32', batch: 1, raw: ortWasm },
      { modelId: mobilenet, backend: 'ort-wasm', variant: 'int8', batch: 1, raw: ortWasm },
    ],
  };
}
