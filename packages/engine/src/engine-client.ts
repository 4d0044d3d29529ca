import { EdgeInferError, fromSerializedError, softmax, topK, type Capability, type NamedTensors, type Tensor } from '@edgeinfer/core';
import type { LoadProgress } from '@edgeinfer/loader';
import * as Comlink from 'comlink';
import { createConnection, isWorkerLost, type CallBudget, type RestartNotice } from './worker-connection.js';
import type { RestartPolicy } from './restart-policy.js';
import { checkRunElementCount, createRunTimes, elementCount, LOAD_ALLOWANCE_MS } from './run-budget.js';
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
  /** The worker script's URL, when known: engine/worker-start-failed names it. */
  readonly workerUrl?: string | URL;
  /**
   * An idle worker (no load or run in progress) that answers no ping for this long is replaced.
   * During a run the worker cannot answer (the run blocks it): it is replaced only when the run is far
   * past that model's measured run time (or its first-run allowance) and the caller's timeoutMs.
   */
  readonly hangTimeoutMs?: number;
  /** Bounds on worker restarts (default: 5 starts per 60 s, back-off from 250 ms). */
  readonly restartPolicy?: RestartPolicy;
  readonly onEvent?: (event: ClientEvent) => void;
}

export type ClientEvent =
  | { type: 'load'; info: ModelInfo }
  | { type: 'fallback'; info: ModelInfo; fallback: FallbackRecord }
  | { type: 'run'; info: ModelInfo; queueMs: number; runMs: number; totalMs: number; backend: string; top1Probability?: number; top1Class?: number }
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
  const hangTimeoutMs = options.hangTimeoutMs ?? 15_000;
  let nextLoadId = 1;
  const reloads = new Set<(notice: RestartNotice) => Promise<void>>();
  let recovering: Promise<void> = Promise.resolve();
  let disposed = false;

  connection.onRestart = (notice) => {
    options.onEvent?.({ type: 'restart', reason: notice.reason });
    // Reload every model into the new worker (from the IndexedDB cache: no download). A failed
    // reload surfaces in that model's next run, which awaits `recovering`.
    const reloading = Promise.all([...reloads].map((reload) => reload(notice))).then(() => undefined);
    reloading.catch(() => undefined);
    recovering = reloading;
  };

  const loadBudget = (request: LoadRequest): CallBudget => ({ allowanceMs: Math.max(hangTimeoutMs, LOAD_ALLOWANCE_MS), label: `load of ${request.modelId}` });

  async function loadOnce(request: LoadRequest, loadOptions: LoadOptions): Promise<ModelInfo> {
    const loadId = nextLoadId++;
    const onAbort = () => void connection.call((api) => Promise.resolve(api.abortLoad(loadId))).catch(() => undefined);
    loadOptions.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const progress = loadOptions.onProgress ? (options.createWorker ? Comlink.proxy(loadOptions.onProgress) : loadOptions.onProgress) : undefined;
      return unwrap(await connection.call((api, _callId, activity) => api.load(loadId, request, progress, activity), loadBudget(request)));
    } finally {
      loadOptions.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A load that the worker's loss interrupted is tried once more in the new worker. */
  async function loadInWorker(request: LoadRequest, loadOptions: LoadOptions): Promise<ModelInfo> {
    try {
      return await loadOnce(request, loadOptions);
    } catch (error) {
      if (!isWorkerLost(error) || loadOptions.signal?.aborted) throw error;
      return loadOnce(request, loadOptions);
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
    const runTimes = createRunTimes();
    /** Fallbacks of earlier sessions (before restarts) and the client's own (engine/worker-lost). */
    let earlierFallbacks: FallbackRecord[] = [];
    /** The id of this model's run the worker is (or was last) executing: blamed when the worker is lost. */
    let runningCall: number | undefined;
    /** Worker losses during this model's runs, per backend: the second on one backend moves the model on. */
    const lossesByBackend = new Map<string, number>();
    const abandoned = new Set<string>();

    const adoptSession = (next: ModelInfo, added: FallbackRecord[] = []) => {
      earlierFallbacks = [...info.fallbacks, ...added];
      if (next.backend !== info.backend) runTimes.reset();
      info = { ...next, fallbacks: [...earlierFallbacks, ...next.fallbacks] };
    };

    // After a restart the model is reloaded pinned to its version, variant and backend; if the lost
    // worker was running this model for the second time on that backend, on the next candidate instead.
    const reload = async (notice: RestartNotice) => {
      const blamed = runningCall !== undefined && notice.startedCalls.includes(runningCall);
      if (blamed) lossesByBackend.set(info.backend, (lossesByBackend.get(info.backend) ?? 0) + 1);
      if ((lossesByBackend.get(info.backend) ?? 0) < 2) {
        const pinned = await loadInWorker({ ...request, select: 'auto', version: info.version, variants: [info.variant], backends: [info.backend] }, {});
        // Pinned, the reload ranks one candidate: the model still has the ones it was loaded with.
        adoptSession({ ...pinned, candidates: info.candidates });
        return;
      }
      abandoned.add(info.backend);
      const record: FallbackRecord = { backend: info.backend, variant: info.variant, code: 'engine/worker-lost', message: notice.reason, at: 'run' };
      const remaining = [...new Set(info.candidates.map((candidate) => candidate.backend))].filter((backend) => !abandoned.has(backend));
      if (remaining.length === 0) {
        throw new EdgeInferError('engine/worker-lost', `${info.id} lost the engine worker twice on ${info.backend} (${notice.reason}) and has no other backend to move to.`, {
          details: { fallbacks: [...info.fallbacks, record] },
        });
      }
      const { variants: _pinned, ...unpinned } = request;
      const next = await loadInWorker({ ...unpinned, select: 'auto', version: info.version, backends: remaining }, {});
      options.onEvent?.({ type: 'fallback', info: next, fallback: record });
      adoptSession({ ...next, selectionReason: `moved after the worker was lost twice on ${record.backend}: ${next.selectionReason}` }, [record]);
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
      earlierFallbacks = [];
      runTimes.reset();
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
      const elements = elementCount(feeds);
      const budget: CallBudget = {
        label: `run of ${info.id} on ${info.backend}`,
        allowanceMs: runTimes.allowanceMs({
          elements,
          hangTimeoutMs,
          timeoutMs: runOptions.timeoutMs,
          checkRunMs: info.timings.warmupMs,
          checkRunElements: checkRunElementCount(info.inputs),
        }),
      };
      const result = unwrap(
        await connection.call((api, callId, activity) => {
          runningCall = callId;
          return api.run(info.handle, feeds, activity, transfer);
        }, budget),
      );
      runTimes.record(result.runMs, elements);
      return result;
    }

    /** A run the worker's loss interrupted is retried in the new worker (after the reload), at most twice. */
    async function runWithRecovery(feeds: NamedTensors, runOptions: RunOptions) {
      for (let attempt = 0; ; attempt++) {
        await recovering;
        try {
          return await runOnce(feeds, attempt === 0 ? runOptions : { ...runOptions, transfer: false });
        } catch (error) {
          if (!isWorkerLost(error) || attempt >= 2) throw error;
        }
      }
    }

    /** `quality` (classify's) reads the top-1 class of the output for the run event: telemetry's quality signal, never the data. */
    async function run(feeds: NamedTensors, runOptions: RunOptions = {}, quality?: (output: Tensor) => { top1Probability: number; top1Class: number } | undefined): Promise<RunOutput> {
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
        const fallbacks = [...earlierFallbacks, ...result.fallbacks];
        for (const fallback of fallbacks.slice(info.fallbacks.length)) options.onEvent?.({ type: 'fallback', info, fallback });
        if (result.backend !== info.backend || fallbacks.length !== info.fallbacks.length) {
          if (result.backend !== info.backend) runTimes.reset();
          info = { ...info, backend: result.backend, variant: result.variant, fallbacks };
        }
        options.onEvent?.({ type: 'run', info, backend: result.backend, ...timings, ...quality?.(output) });
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
        // Models that end in softmax (content-safety) already give probabilities: softmax again would flatten them.
        const toProbabilities = (scores: Float32Array) => (isDistribution(scores) ? scores : softmax(scores));
        let probabilities: Float32Array | undefined;
        const result = await run({ [info.inputs[0]!.name]: tensor }, { ...classifyOptions, transfer: true }, (output) => {
          probabilities = toProbabilities(output.data as Float32Array);
          const [best] = topK(probabilities, 1);
          return best ? { top1Probability: Math.min(1, Math.max(0, best.score)), top1Class: best.index } : undefined;
        });
        probabilities ??= toProbabilities(result.output.data as Float32Array);
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
      return Math.max(0, connection.starts - 1);
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
