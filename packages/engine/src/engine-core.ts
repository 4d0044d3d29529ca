import {
  DEFAULT_PROBE_TOLERANCE,
  EdgeInferError,
  backendId,
  isEdgeInferError,
  parseProbe,
  type Backend,
  type Capability,
  type ManifestVariant,
  type NamedTensors,
  type Probe,
  type ProbeTolerance,
  type Session,
} from '@edgeinfer/core';
import { bareOptionsOf, type BareModelOptions, type LoadProgress, type Loader, type ResolvedModel, type DecryptionKey, type Channel } from '@edgeinfer/loader';
import { validateInputs } from './input-validation.js';
import type { FallbackRecord, ModelInfo } from './model-info.js';
import { backendsToProbe, matchesBackend, rankCandidates, type Candidate } from './selection.js';
import { checkSession, warmupFeeds } from './warmup.js';
import { describeTrial, deviceKey, readWinner, rememberWinner, timeSession, trialCandidates, type TrialResult } from './benchmark-selection.js';

const TRIAL_RUNS = 5;

/** `integrity`, `labels` and `preprocessing` apply to a bare model (an .onnx or TF.js model.json URL, no manifest). */
export interface LoadRequest extends BareModelOptions {
  readonly manifestUrl: string;
  readonly modelId: string;
  readonly version?: string;
  readonly channel?: Channel;
  /** Variant names in order of preference; default: every variant, full precision first. */
  readonly variants?: readonly string[];
  /** Backend names or ids ('wasm', 'ort-webgpu', 'webgl'...) in order of preference; default: auto. */
  readonly backends?: readonly string[];
  /**
   * 'auto' (default) orders backends by the device's facts (a software WebGPU adapter ranks below
   * WASM). 'benchmark' times a short trial of the candidates once per (device, model, version) and
   * remembers the winner in IndexedDB, so the next page load skips the trial.
   */
  readonly select?: 'auto' | 'benchmark';
  readonly decryptionKey?: DecryptionKey;
}

export interface RunResult {
  readonly outputs: NamedTensors;
  readonly backend: string;
  readonly variant: string;
  /** Every fallback so far, load and run time: the page learns of run-time fallbacks from here. */
  readonly fallbacks: readonly FallbackRecord[];
  readonly runMs: number;
}

export interface EngineEvent {
  readonly type: 'load' | 'fallback' | 'error' | 'inference';
  readonly info?: ModelInfo;
  readonly fallback?: FallbackRecord;
  readonly code?: string;
  readonly runMs?: number;
}

export interface EngineCoreOptions {
  readonly backends: readonly Backend[];
  readonly loader: Loader;
  readonly onEvent?: (event: EngineEvent) => void;
  /**
   * Probe the device at creation, before any load (the worker does): every backend whose probe does
   * not hold the thread. A load then finds its answers ready.
   */
  readonly probeAhead?: boolean;
}

interface LoadedModel {
  info: ModelInfo;
  session: Session;
  candidate: Candidate;
  remaining: Candidate[];
  resolved: ResolvedModel;
  request: LoadRequest;
  fallbacks: FallbackRecord[];
}

/** The part of the engine that owns backends and sessions: it runs inside the worker (or the page with worker: false). */
export interface EngineCore {
  probe(): Promise<Record<string, Capability>>;
  load(request: LoadRequest, onProgress?: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<ModelInfo>;
  /** Re-reads the manifest (the last good copy when offline) and says which version this device should run now. */
  resolveVersion(request: LoadRequest): Promise<{ version: string; reason: string }>;
  run(handle: number, feeds: NamedTensors): Promise<RunResult>;
  info(handle: number): ModelInfo;
  dispose(handle: number): Promise<void>;
  disposeAll(): Promise<void>;
}

const describeError = (error: unknown) =>
  isEdgeInferError(error) ? { code: error.code, message: error.message } : { code: 'engine/backend-failed', message: (error as Error)?.message ?? String(error) };

/** Errors that are the caller's, not the backend's: no fallback would fix them. */
const CALLER_ERRORS = new Set(['engine/input-name', 'engine/input-dtype', 'engine/input-shape', 'loader/aborted', 'loader/decrypt', 'loader/integrity', 'loader/quota', 'loader/offline', 'loader/model-not-found', 'loader/revoked', 'loader/http-status', 'loader/not-a-model', 'loader/size-mismatch', 'loader/network', 'core/invalid-manifest', 'core/invalid-probe']);

/**
 * The variant as the loader should fetch it: the probe file rides with the model files (downloaded,
 * verified and cached like them). An encrypted variant keeps its one file; its probe (never secret:
 * it is a test input) is fetched as a variant of its own.
 */
function probeFetchPlan(resolved: ResolvedModel, variantName: string, variant: ManifestVariant): { resolved: ResolvedModel; variant: string; separate: boolean } | undefined {
  const probe = variant.probe;
  if (!probe) return undefined;
  const file = { path: probe.path, size: probe.size, sha256: probe.sha256 };
  const separate = Boolean(variant.encryption);
  const name = separate ? `${variantName}#probe` : variantName;
  const entry: ManifestVariant = separate ? { format: variant.format, dtype: variant.dtype, files: [file] } : { ...variant, files: [...variant.files, file] };
  return { resolved: { ...resolved, versionEntry: { ...resolved.versionEntry, variants: { ...resolved.versionEntry.variants, [name]: entry } } }, variant: name, separate };
}

export function createEngineCore(options: EngineCoreOptions): EngineCore {
  const capabilities = new Map<Backend, Promise<Capability>>();
  const models = new Map<number, LoadedModel>();
  let nextHandle = 1;
  const emit = (event: EngineEvent) => options.onEvent?.(event);

  /** Each backend is probed once per engine; the answer is kept for every later load. */
  function probeBackend(backend: Backend): Promise<Capability> {
    let capability = capabilities.get(backend);
    if (!capability) {
      capability = backend.probe().catch((error: Error) => ({ available: false, reason: error.message }));
      capabilities.set(backend, capability);
    }
    return capability;
  }

  function probeBackends(backends: readonly Backend[]): Promise<Map<Backend, Capability>> {
    return Promise.all(backends.map(async (backend) => [backend, await probeBackend(backend)] as const)).then((entries) => new Map(entries));
  }

  if (options.probeAhead) for (const backend of options.backends) if (!backend.probeBlocksThread) void probeBackend(backend);

  /**
   * A load that names its backends warms the first one as soon as its probe says it can run, before
   * the manifest arrives: the library's wasm download is the longest step of a first visit.
   */
  function warmRequested(request: LoadRequest): void {
    const first = request.backends?.[0];
    const backend = first === undefined ? undefined : options.backends.find((entry) => matchesBackend(entry, first));
    if (!backend?.warm) return;
    void probeBackend(backend).then((capability) => (capability.available ? backend.warm!() : undefined)).catch(() => undefined);
  }

  type Opened = Awaited<ReturnType<typeof openCandidate>>;

  async function openCandidate(
    candidate: Candidate,
    resolved: ResolvedModel,
    request: LoadRequest,
    onProgress?: (progress: LoadProgress) => void,
    signal?: AbortSignal,
  ) {
    const fetchOptions = {
      // The session is created while the bytes go into IndexedDB; the load still answers only once they are there.
      resolveBeforeCached: true,
      ...(onProgress ? { onProgress } : {}),
      ...(signal ? { signal } : {}),
      ...(request.decryptionKey ? { decryptionKey: request.decryptionKey } : {}),
    };
    // The backend's library downloads and compiles while the model bytes are fetched, not after.
    void candidate.backend.warm?.().catch(() => undefined);
    const plan = probeFetchPlan(resolved, candidate.variant, candidate.variantEntry);
    let files = await options.loader.fetchVariant(plan && !plan.separate ? plan.resolved : resolved, { variant: candidate.variant, ...fetchOptions });
    let probe: { probe: Probe; tolerance: ProbeTolerance } | undefined;
    let probeFilesPersisted: Promise<void> = Promise.resolve();
    if (plan) {
      const probeFile = candidate.variantEntry.probe!;
      const probeFiles = plan.separate ? await options.loader.fetchVariant(plan.resolved, { variant: plan.variant, ...fetchOptions }) : files;
      probeFilesPersisted = probeFiles.persisted;
      const parsed = parseProbe(probeFiles.files[probeFile.path]!);
      probe = { probe: parsed, tolerance: probeFile.tolerance ?? parsed.tolerance ?? DEFAULT_PROBE_TOLERANCE };
      if (!plan.separate) {
        // The probe rides with the model files, but it is not part of the model: info.sizeBytes is the model's.
        const { [probeFile.path]: _probeBytes, ...modelFiles } = files.files;
        files = { ...files, files: modelFiles, sizeBytes: files.sizeBytes - probeFile.size };
      }
    }
    const persisted = Promise.all([files.persisted, probeFilesPersisted]).then(() => undefined);
    const version = resolved.versionEntry;
    const compileStarted = performance.now();
    let session: Session;
    try {
      session = await candidate.backend.load(
        { format: candidate.variantEntry.format, dtype: candidate.variantEntry.dtype, entry: files.entry, files: files.files },
        { ioNames: { inputs: version.inputs.map((spec) => spec.name), outputs: version.outputs.map((spec) => spec.name) } },
      );
    } catch (error) {
      // The next candidate reads these files from the cache: let them finish going in first.
      await persisted.catch(() => undefined);
      throw error;
    }
    const compileMs = performance.now() - compileStarted;
    const warmupStarted = performance.now();
    let check: Awaited<ReturnType<typeof checkSession>>;
    try {
      check = await checkSession(session, version.inputs, backendId(candidate.backend), probe);
      const warmupMs = performance.now() - warmupStarted;
      // A loaded model is a cached model (offline from then on), and a full disk is the caller's loader/quota.
      await persisted;
      return { session, files, compileMs, warmupMs, check, feeds: probe?.probe.inputs ?? warmupFeeds(version.inputs) };
    } catch (error) {
      await session.dispose().catch(() => undefined);
      await persisted.catch(() => undefined);
      throw error;
    }
  }

  async function load(request: LoadRequest, onProgress?: (progress: LoadProgress) => void, signal?: AbortSignal): Promise<ModelInfo> {
    const started = performance.now();
    warmRequested(request);
    const resolved = await options.loader.resolve({
      manifestUrl: request.manifestUrl,
      modelId: request.modelId,
      ...(request.version ? { version: request.version } : {}),
      ...(request.channel ? { channel: request.channel } : {}),
      ...(signal ? { signal } : {}),
      ...(onProgress ? { onProgress } : {}),
      ...bareOptionsOf(request),
    });
    const manifestMs = performance.now() - started;
    const question = {
      backends: options.backends,
      variants: resolved.versionEntry.variants,
      ...(request.backends ? { allow: request.backends } : {}),
      ...(request.variants ? { variantPreference: request.variants } : {}),
    };
    // Only what selection will look at is probed (see backendsToProbe).
    const { candidates, rejected } = rankCandidates({ ...question, capabilities: await probeBackends(backendsToProbe(question)) });
    const fallbacks: FallbackRecord[] = [];
    const tried = new Set<Candidate>();
    const recordFallback = (candidate: Candidate, error: unknown) => {
      const record: FallbackRecord = { backend: backendId(candidate.backend), variant: candidate.variant, ...describeError(error), at: 'load' };
      fallbacks.push(record);
      emit({ type: 'fallback', fallback: record });
    };
    const adopt = (candidate: Candidate, opened: Opened, order: Candidate[], reason?: string) => {
      const handle = nextHandle++;
      const chosen = reason ? { ...candidate, reason } : candidate;
      const info = buildInfo(handle, resolved, chosen, order, rejected, fallbacks, opened, manifestMs, performance.now() - started);
      models.set(handle, { info, session: opened.session, candidate, remaining: order.filter((entry) => entry !== candidate), resolved, request, fallbacks });
      emit({ type: 'load', info });
      return info;
    };

    let ordered = candidates;
    if (request.select === 'benchmark') {
      const key = `${request.modelId}@${resolved.version}|${deviceKey(candidates.map((entry) => entry.capability.adapter?.description ?? ''))}`;
      const winner = await readWinner(key);
      const remembered = winner && candidates.find((entry) => backendId(entry.backend) === winner.backend && entry.variant === winner.variant);
      if (winner && remembered) {
        ordered = [remembered, ...candidates.filter((entry) => entry !== remembered)];
        const opened = await tryOpen(remembered);
        if (opened) return adopt(remembered, opened, ordered, describeTrial(winner.results, true));
      } else {
        const trial = await runTrial(trialCandidates(candidates));
        if (trial) {
          await rememberWinner(key, { backend: backendId(trial.candidate.backend), variant: trial.candidate.variant, results: trial.results, measuredAt: Date.now() });
          ordered = [trial.candidate, ...candidates.filter((entry) => entry !== trial.candidate)];
          return adopt(trial.candidate, trial.opened, ordered, describeTrial(trial.results, false));
        }
      }
    }

    for (const candidate of ordered) {
      if (signal?.aborted) throw new EdgeInferError('loader/aborted', 'The model load was aborted.');
      const opened = await tryOpen(candidate);
      if (opened) return adopt(candidate, opened, ordered);
    }

    /** Opens a candidate once; a failure is recorded as a fallback and never retried in this load. */
    async function tryOpen(candidate: Candidate): Promise<Opened | undefined> {
      if (tried.has(candidate)) return undefined;
      tried.add(candidate);
      try {
        return await openCandidate(candidate, resolved, request, onProgress, signal);
      } catch (error) {
        const described = describeError(error);
        if (CALLER_ERRORS.has(described.code)) throw error;
        recordFallback(candidate, error);
        return undefined;
      }
    }

    /** Opens each trial candidate, times it, keeps the fastest session and disposes the rest. */
    async function runTrial(trial: Candidate[]) {
      const results: TrialResult[] = [];
      let best: { candidate: Candidate; opened: Opened; p50Ms: number } | undefined;
      for (const candidate of trial) {
        const opened = await tryOpen(candidate);
        if (!opened) continue;
        const p50Ms = await timeSession(opened.session, opened.feeds, TRIAL_RUNS).catch(() => Number.POSITIVE_INFINITY);
        results.push({ backend: backendId(candidate.backend), variant: candidate.variant, p50Ms });
        if (!best || p50Ms < best.p50Ms) {
          await best?.opened.session.dispose();
          best = { candidate, opened, p50Ms };
        } else {
          await opened.session.dispose();
        }
      }
      return best && { candidate: best.candidate, opened: best.opened, results };
    }

    const why = [...rejected.map((entry) => `${entry.backend}: ${entry.reason}`), ...fallbacks.map((entry) => `${entry.backend}/${entry.variant}: ${entry.code} ${entry.message}`)];
    const error = new EdgeInferError(
      'engine/backend-unavailable',
      `No backend could run ${resolved.modelId}@${resolved.version} here. ${why.length ? `Why each failed: ${why.join(' | ')}` : 'No backend supports its variants.'}`,
      { details: { rejected, fallbacks } },
    );
    emit({ type: 'error', code: error.code });
    throw error;
  }

  function getModel(handle: number): LoadedModel {
    const model = models.get(handle);
    if (!model) throw new EdgeInferError('engine/disposed', `Model handle ${handle} is not loaded (it was disposed, or the engine restarted). Load it again.`, { details: { handle } });
    return model;
  }

  /** Runs on the current backend; on a backend failure moves to the next candidate and re-runs. */
  async function run(handle: number, feeds: NamedTensors): Promise<RunResult> {
    const model = getModel(handle);
    validateInputs(feeds, model.info.inputs);
    for (;;) {
      const started = performance.now();
      try {
        const outputs = await model.session.run(feeds);
        const runMs = performance.now() - started;
        return { outputs, backend: model.info.backend, variant: model.info.variant, fallbacks: [...model.fallbacks], runMs };
      } catch (error) {
        const described = describeError(error);
        if (CALLER_ERRORS.has(described.code)) throw error;
        const record: FallbackRecord = { backend: model.info.backend, variant: model.info.variant, ...described, at: 'run' };
        model.fallbacks.push(record);
        emit({ type: 'fallback', fallback: record });
        await model.session.dispose().catch(() => undefined);
        await switchToNextCandidate(model, error);
      }
    }
  }

  async function switchToNextCandidate(model: LoadedModel, lastError: unknown): Promise<void> {
    while (model.remaining.length > 0) {
      const candidate = model.remaining.shift()!;
      try {
        const opened = await openCandidate(candidate, model.resolved, model.request);
        model.session = opened.session;
        model.candidate = candidate;
        model.info = {
          ...model.info,
          backend: backendId(candidate.backend),
          variant: candidate.variant,
          dtype: candidate.variantEntry.dtype,
          selectionReason: `fell back at run time: ${candidate.reason}`,
          fallbacks: [...model.fallbacks],
        };
        return;
      } catch (error) {
        const record: FallbackRecord = { backend: backendId(candidate.backend), variant: candidate.variant, ...describeError(error), at: 'load' };
        model.fallbacks.push(record);
        emit({ type: 'fallback', fallback: record });
      }
    }
    models.delete(model.info.handle);
    throw new EdgeInferError('engine/backend-failed', `Every backend failed for ${model.info.id}: ${model.fallbacks.map((entry) => `${entry.backend}: ${entry.message}`).join(' | ')}`, {
      details: { fallbacks: model.fallbacks },
      cause: lastError,
    });
  }

  async function dispose(handle: number): Promise<void> {
    const model = models.get(handle);
    if (!model) return;
    models.delete(handle);
    await model.session.dispose();
  }

  return {
    async probe() {
      const all = await probeBackends(options.backends);
      return Object.fromEntries([...all].map(([backend, capability]) => [backendId(backend), capability]));
    },
    load,
    async resolveVersion(request) {
      const resolved = await options.loader.resolve({
        manifestUrl: request.manifestUrl,
        modelId: request.modelId,
        ...(request.version ? { version: request.version } : {}),
        ...(request.channel ? { channel: request.channel } : {}),
        ...bareOptionsOf(request),
      });
      return { version: resolved.version, reason: resolved.choice.reason };
    },
    run,
    info: (handle) => getModel(handle).info,
    dispose,
    async disposeAll() {
      await Promise.all([...models.keys()].map(dispose));
    },
  };
}

function buildInfo(
  handle: number,
  resolved: ResolvedModel,
  candidate: Candidate,
  candidates: Candidate[],
  rejected: { backend: string; reason: string }[],
  fallbacks: FallbackRecord[],
  opened: { files: { fromCache: boolean; sizeBytes: number; timings: { downloadMs: number; verifyMs: number; cacheMs: number } }; compileMs: number; warmupMs: number },
  manifestMs: number,
  totalMs: number,
): ModelInfo {
  const version = resolved.versionEntry;
  return {
    handle,
    id: resolved.modelId,
    version: resolved.version,
    channel: resolved.choice.channel,
    versionReason: resolved.choice.reason,
    variant: candidate.variant,
    dtype: candidate.variantEntry.dtype,
    backend: backendId(candidate.backend),
    selectionReason: candidate.reason,
    candidates: candidates.map((entry) => ({ backend: backendId(entry.backend), variant: entry.variant, reason: entry.reason })),
    rejected,
    fallbacks: [...fallbacks],
    fromCache: opened.files.fromCache,
    manifestSource: resolved.manifestSource,
    sizeBytes: opened.files.sizeBytes,
    timings: { manifestMs, ...opened.files.timings, compileMs: opened.compileMs, warmupMs: opened.warmupMs, totalMs },
    task: resolved.model.task,
    labels: resolved.model.labels ?? [],
    inputs: version.inputs,
    outputs: version.outputs,
    ...(version.preprocessing ? { preprocessing: version.preprocessing } : {}),
  };
}
