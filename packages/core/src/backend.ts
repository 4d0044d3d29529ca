import type { NamedTensors } from './tensor.js';
import type { ModelFormat, VariantDtype } from './manifest.js';

/** The device facts selection reads: a WebGPU adapter is not always a fast one. */
export interface AdapterFacts {
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  /** Chromium's SwiftShader (or any fallback adapter) emulates the GPU on the CPU. */
  readonly isSoftware: boolean;
  readonly features: readonly string[];
}

export interface Capability {
  readonly available: boolean;
  /** Why the backend cannot run here, in words a developer can act on. */
  readonly reason?: string;
  readonly adapter?: AdapterFacts;
  /** Extra facts worth recording (threads, SIMD, cross-origin isolation...). */
  readonly details?: Record<string, unknown>;
}

export interface ModelFiles {
  readonly format: ModelFormat;
  readonly dtype: VariantDtype;
  /** The entry file (the .onnx, or the TF.js model.json); other files are referenced from it. */
  readonly entry: string;
  readonly files: Readonly<Record<string, ArrayBuffer>>;
}

export interface SessionOptions {
  /** WASM threads; ignored by GPU backends. */
  readonly numThreads?: number;
  /**
   * The input and output names the app uses (from the manifest). A backend whose model format
   * names tensors differently (TF.js layers) maps them by position, so app code never changes.
   */
  readonly ioNames?: { readonly inputs: readonly string[]; readonly outputs: readonly string[] };
}

export interface Session {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: NamedTensors): Promise<NamedTensors>;
  dispose(): Promise<void>;
}

export type BackendName = 'webgpu' | 'wasm' | 'webgl' | 'cpu';
export type BackendLibrary = 'ort' | 'tfjs';

/**
 * What a backend package implements and the engine relies on; nothing else crosses that line.
 * Backends register with a priority (higher tried first, negative only when asked for by name).
 */
export interface Backend {
  readonly name: BackendName;
  readonly library: BackendLibrary;
  readonly priority: number;
  probe(): Promise<Capability>;
  /**
   * True when probe() holds the thread while it runs: a WebGL context is created synchronously, and a
   * first WebGPU adapter request opens the GPU channel synchronously (measured here: ~220 ms in a fresh
   * browser). The engine then probes it only for a load that could use it, never ahead of one, where it
   * would delay everything else the worker is doing.
   */
  readonly probeBlocksThread?: boolean;
  supports(format: ModelFormat, dtype: VariantDtype): boolean;
  load(files: ModelFiles, options?: SessionOptions): Promise<Session>;
  /**
   * Optional: fetch, compile and instantiate the backend's library now, with no model, so a later
   * load() finds it ready. The engine calls it while the model downloads (and at worker start for
   * `createEngine({ warm })`); it must be safe to call more than once and beside load().
   */
  warm?(): Promise<void>;
}

export function backendId(backend: Pick<Backend, 'library' | 'name'>): string {
  return `${backend.library}-${backend.name}`;
}
