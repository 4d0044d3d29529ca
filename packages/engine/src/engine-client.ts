import { EdgeInferError, fromSerializedError, softmax, topK, type Capability, type NamedTensors, type Tensor } from '@edgeinfer/core';
import type { LoadProgress } from '@edgeinfer/loader';
import * as Comlink from 'comlink';
import { createConnection, WorkerLost } from './worker-connection.js';
import type { EngineCore, LoadRequest } from './engine-core.js';
import { imageToTensor, type ImageInput } from './image-preprocessing.js';
import type { FallbackRecord, ModelInfo } from './model-info.js';
import type { Outcome } from './protocol.js';

export interface LoadOptions extends Omit<LoadRequest, 'manifestUrl' | 'modelId'> {
  readonly modelId?: string;
  /**
   * For long-running pages (kiosks): re-check the manifest this often and switch to the version the
   * device should run now (a canary percentage changed, a version was revoked). Offline, the last
   * good manifest decides, and the previous version is served from the cache.
   */
  readonly manifestCheckIntervalMs?: number;
  readonly onProgress?: (progress: LoadProgress) => void;
  readonly signal?: AbortSignal;
}

export interface RunOptions {
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
  /** Transfer the input buffers to the worker instead of copying them (they are detached afterwards). */
  readonly transfer?: boolean;
}

export interface RunOutput {
  readonly outputs: NamedTensors;
  /** The first output: most models have one. */
  readonly output: Tensor;
  readonly backend: string;
  readonly timings: { readonly queueMs: number; readonly runMs: number; readonly totalMs: number };
}

export interface Classification {
  readonly label: string;
  readonly index: number;
  readonly probability: number;
}

export interface ClassifyOutput extends RunOutput {
  readonly top: readonly Classification[];
}

export interface Model {
  readonly info: ModelInfo;
  run(feeds: NamedTensors, options?: RunOptions): Promise<RunOutput>;
  classify(image: ImageInput, options?: RunOptions & { topK?: number }): Promise<ClassifyOutput>;
  dispose(): Promise<void>;
}

export interface Engine {
  /** `ref` is a manifest URL (the model id is its #fragment or options.modelId), or a bare .onnx / TF.js model.json URL. */
  load(ref: string, options?: LoadOptions): Promise<Model>;
  probe(): Promise<Record<string, Capability>>;
  /** Times the worker was replaced after a crash or hang. */
  readonly restarts: number;
  dispose(): Promise<void>;
}

export interface EngineClientOptions {
  /** Starts the engine's worker; omit with `core` to run in the page. */
  readonly createWorker?: () => Worker;
  /** In-page engine (worker: false). */
  readonly core?: EngineCore;
  /** A worker that does not answer a ping for this long while work is pending is replaced. */
  readonly hangTimeoutMs?: number;
  readonly onEvent?: (event: ClientEvent) => void;
}

export type ClientEvent =
  | { type: 'load'; info: ModelInfo }
  | { type: 'fallback'; info: ModelInfo; fallback: FallbackRecord }
  | { type: 'run'; info: ModelInfo; queueMs: number; runMs: number; totalMs: number; backend: string }
  | { type: 'error'; info?: ModelInfo; code: string }
  | { type: 'restart'; reason: string };

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw fromSerializedError(outcome.error);
}

/**
 * `ref` is a manifest URL with the model id as its #fragment, or a bare model file (.onnx, TF.js
 * model.json) with no fragment needed. Which of the two it is, the loader finds out (a .onnx name,
 * or the content), so an empty model id is passed on and explained there if a manifest needs one.
 */
function resolveRef(ref: string, modelId?: string): { manifestUrl: string; modelId: string } {
  const base = typeof location !== 'undefined' ? location.href : undefined;
  let url: URL;
  try {
    url = new URL(ref, base);
  } catch (cause) {
    throw new EdgeInferError('loader/model-not-found', `${JSON.stringify(ref)} is not a URL. Give a manifest URL with the model id ("/models/manifest.json#my-model") or a model file URL ("/models/model.onnx").`, { details: { ref }, cause });
  }
  const id = modelId ?? decodeURIComponent(url.hash.slice(1));
  url.hash = '';
  return { manifestUrl: url.href, modelId: id };
}

function inputBuffers(feeds: NamedTensors): ArrayBuffer[] {
  return [...new Set(Object.values(feeds).map((tensor) => (ArrayBuffer.isView(tensor.data) ? tensor.data.buffer : undefined)).filter((buffer): buffer is ArrayBuffer => buffer instanceof ArrayBuffer))];
}

export function createEngineClient(options: EngineClientOptions): Engine {
  if (!options.createWorker && !options.core) throw new Error('createEngineClient needs createWorker or core');
  const connection = createConnection(options);
  let restarts = 0;
  let nextLoadId = 1;
  const reloads = new Set<() => Promise<void>>();
  let recovering: Promise<void> = Promise.resolve();
  let disposed = false;

  connection.onRestart = (reason) => {
    restarts++;
    options.onEvent?.({ type: 'restart', reason });
    // Reload every model into the new worker (from the IndexedDB cache: no download).
    recovering = Promise.all([...reloads].map((reload) => reload())).then(() => undefined);
  };

  async function loadInWorker(request: LoadRequest, loadOptions: LoadOptions): Promise<ModelInfo> {
    const loadId = nextLoadId++;
    const onAbort = () => void connection.call((api) => Promise.resolve(api.abortLoad(loadId)));
    loadOptions.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const progress = loadOptions.onProgress ? (options.createWorker ? Comlink.proxy(loadOptions.onProgress) : loadOptions.onProgress) : undefined;
      return unwrap(await connection.call((api) => api.load(loadId, request, progress)));
    } finally {
      loadOptions.signal?.removeEventListener('abort', onAbort);
    }
  }

  async function load(ref: string, loadOptions: LoadOptions = {}): Promise<Model> {
    if (disposed) throw new EdgeInferError('engine/disposed', 'The engine was disposed.');
    const { onProgress: _progress, signal: _signal, modelId, manifestCheckIntervalMs, ...rest } = loadOptions;
    const request: LoadRequest = { ...rest, ...resolveRef(ref, modelId) };
    if (loadOptions.signal?.aborted) throw new EdgeInferError('loader/aborted', 'The model load was aborted before it started.');
    let info = await loadInWorker(request, loadOptions);
    for (const fallback of info.fallbacks) options.onEvent?.({ type: 'fallback', info, fallback });
    options.onEvent?.({ type: 'load', info });
    let queue: Promise<unknown> = Promise.resolve();
    let modelDisposed = false;

    // After a restart the model is reloaded, pinned to the version and variant it had.
    const reload = async () => {
      info = await loadInWorker({ ...request, version: info.version, variants: [info.variant] }, {});
    };
    reloads.add(reload);

    /** Loads the version the manifest now assigns, swaps it in between runs, then frees the old one. */
    async function followManifest(): Promise<void> {
      const { version } = unwrap(await connection.call((api) => api.resolveVersion(request)));
      if (version === info.version || modelDisposed) return;
      const next = await loadInWorker({ ...request, version }, {});
      const previous = info;
      const drained = queue;
      info = next;
      options.onEvent?.({ type: 'load', info });
      await drained;
      await connection.call((api) => api.dispose(previous.handle)).catch(() => undefined);
    }
    let checking = false;
    const manifestTimer = manifestCheckIntervalMs
      ? setInterval(() => {
          if (checking) return;
          checking = true;
          followManifest()
            .catch((error: EdgeInferError) => options.onEvent?.({ type: 'error', info, code: error.code ?? 'loader/network' }))
            .finally(() => (checking = false));
        }, manifestCheckIntervalMs)
      : undefined;

    async function runOnce(feeds: NamedTensors, runOptions: RunOptions) {
      const transfer = runOptions.transfer && options.createWorker ? inputBuffers(feeds) : [];
      return unwrap(await connection.call((api) => api.run(info.handle, transfer.length ? Comlink.transfer(feeds, transfer) : feeds)));
    }

    async function runWithRecovery(feeds: NamedTensors, runOptions: RunOptions) {
      await recovering;
      try {
        return await runOnce(feeds, runOptions);
      } catch (error) {
        if (!(error instanceof WorkerLost)) throw error;
        // The worker died mid-run: wait for the new worker and the reload, then retry once.
        await recovering;
        return runOnce(feeds, { ...runOptions, transfer: false });
      }
    }

    async function run(feeds: NamedTensors, runOptions: RunOptions = {}): Promise<RunOutput> {
      if (modelDisposed) throw new EdgeInferError('engine/disposed', `${info.id} was disposed; load it again.`);
      const queuedAt = performance.now();
      const previous = queue;
      const task = (async () => {
        await previous.catch(() => undefined);
        const startedAt = performance.now();
        if (runOptions.signal?.aborted) throw new EdgeInferError('engine/aborted', 'The run was aborted before it started.');
        const result = await withDeadline(runWithRecovery(feeds, runOptions), runOptions);
        const done = performance.now();
        const output = result.outputs[info.outputs[0]?.name ?? ''] ?? Object.values(result.outputs)[0]!;
        const timings = { queueMs: startedAt - queuedAt, runMs: result.runMs, totalMs: done - queuedAt };
        // A run-time fallback happened in the worker: adopt the new backend and report each new step.
        for (const fallback of result.fallbacks.slice(info.fallbacks.length)) options.onEvent?.({ type: 'fallback', info, fallback });
        if (result.backend !== info.backend || result.fallbacks.length !== info.fallbacks.length) {
          info = { ...info, backend: result.backend, variant: result.variant, fallbacks: result.fallbacks };
        }
        options.onEvent?.({ type: 'run', info, backend: result.backend, ...timings });
        return { outputs: result.outputs, output, backend: result.backend, timings };
      })();
      queue = task.catch(() => undefined);
      try {
        return await task;
      } catch (error) {
        options.onEvent?.({ type: 'error', info, code: (error as EdgeInferError).code ?? 'engine/backend-failed' });
        throw error;
      }
    }

    const model: Model = {
      get info() {
        return info;
      },
      run,
      async classify(image, classifyOptions = {}) {
        if (!info.preprocessing) {
          throw new EdgeInferError('engine/invalid-image', `${info.id} has no preprocessing in its manifest, so it cannot classify images; use run().`);
        }
        const tensor = await imageToTensor(image, info.preprocessing);
        const result = await run({ [info.inputs[0]!.name]: tensor }, { ...classifyOptions, transfer: true });
        const scores = result.output.data as Float32Array;
        // Models that end in softmax (content-safety) already give probabilities: softmax again would flatten them.
        const probabilities = isDistribution(scores) ? scores : softmax(scores);
        const top = topK(probabilities, classifyOptions.topK ?? 5).map(({ index, score }) => ({
          index,
          probability: score,
          label: info.labels[index] ?? `class ${index}`,
        }));
        return { ...result, top };
      },
      async dispose() {
        if (modelDisposed) return;
        modelDisposed = true;
        clearInterval(manifestTimer);
        reloads.delete(reload);
        await queue;
        unwrap(await connection.call((api) => api.dispose(info.handle)));
      },
    };
    return model;
  }

  return {
    load,
    async probe() {
      return unwrap(await connection.call((api) => api.probe()));
    },
    get restarts() {
      return restarts;
    },
    async dispose() {
      disposed = true;
      connection.close();
    },
  };
}

function isDistribution(values: Float32Array): boolean {
  let sum = 0;
  for (const value of values) {
    if (value < 0 || value > 1) return false;
    sum += value;
  }
  return Math.abs(sum - 1) < 1e-3;
}

/** Rejects with engine/timeout or engine/aborted; the worker's answer, if it comes later, is dropped. */
function withDeadline<T>(work: Promise<T>, options: RunOptions): Promise<T> {
  if (!options.signal && !options.timeoutMs) return work;
  return new Promise<T>((resolve, reject) => {
    const timer = options.timeoutMs
      ? setTimeout(() => reject(new EdgeInferError('engine/timeout', `The run took longer than ${options.timeoutMs} ms.`, { details: { timeoutMs: options.timeoutMs } })), options.timeoutMs)
      : undefined;
    const onAbort = () => reject(new EdgeInferError('engine/aborted', 'The run was aborted.'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    });
  });
}
