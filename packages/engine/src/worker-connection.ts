import { EdgeInferError, isEdgeInferError } from '@edgeinfer/core';
import * as Comlink from 'comlink';
import type { EngineCore } from './engine-core.js';
import { isActivityMessage, type WorkerApi } from './protocol.js';
import { createRestartBudget, DEFAULT_RESTART_POLICY, type RestartPolicy } from './restart-policy.js';
import { START_ALLOWANCE_MS } from './run-budget.js';
import { withDirectRun } from './direct-run.js';
import { createWorkerApi } from './worker-host.js';

export interface ConnectionOptions {
  readonly createWorker?: () => Worker;
  /** The worker script's URL, when the caller knows it: named in engine/worker-start-failed. */
  readonly workerUrl?: string | URL;
  readonly core?: EngineCore;
  /** An idle worker (no load or run in progress) that answers no ping for this long is hung. */
  readonly hangTimeoutMs?: number;
  readonly restartPolicy?: RestartPolicy;
}

/** What a call does in the worker, so the watchdog knows how long the worker may be silent for it. */
export interface CallBudget {
  /** From the moment the worker reports it started this call. */
  readonly allowanceMs: number;
  readonly label: string;
}

/** Said to onRestart: why the worker was replaced, and which calls it had started (the suspects). */
export interface RestartNotice {
  readonly reason: string;
  readonly kind: 'hung' | 'crashed';
  readonly startedCalls: readonly number[];
}

interface PendingCall {
  readonly reject: (error: EdgeInferError) => void;
  readonly budget: CallBudget | undefined;
  /** The worker generation this call was posted to; undefined while it waits for a started worker. */
  sentTo?: number;
  startedAt?: number;
}

interface LiveWorker {
  readonly worker: Worker;
  readonly remote: Comlink.Remote<WorkerApi>;
  /** The remote, with run() posted directly (direct-run.ts). */
  readonly api: WorkerApi;
  readonly generation: number;
  readonly startedAt: number;
  ready: boolean;
  ping?: { sentAt: number };
}

export function isWorkerLost(error: unknown): error is EdgeInferError {
  return isEdgeInferError(error, 'engine/worker-lost');
}

/**
 * A worker (or in-page core) connection that replaces a worker that died or hung, within a bounded
 * number of starts. A worker silent during a load or run it reported starting is busy, not hung,
 * until that call's allowance runs out; a worker silent with nothing started is hung after hangTimeoutMs.
 */
export function createConnection(options: ConnectionOptions) {
  const hangTimeoutMs = options.hangTimeoutMs ?? 15_000;
  const budget = createRestartBudget(options.restartPolicy ?? DEFAULT_RESTART_POLICY);
  const calls = new Map<number, PendingCall>();
  const waiters = new Set<{ resolve: (live: LiveWorker) => void; reject: (error: EdgeInferError) => void }>();
  let live: LiveWorker | undefined;
  let generation = 0;
  let starts = 0;
  let nextCallId = 1;
  let restartTimer: ReturnType<typeof setTimeout> | undefined;
  let monitor: ReturnType<typeof setInterval> | undefined;
  let failed: { error: EdgeInferError; retryAt: number } | undefined;
  let closed = false;
  let onRestart: (notice: RestartNotice) => void = () => undefined;
  const inPageApi = options.core ? createWorkerApi(options.core) : undefined;
  const workerUrl = options.workerUrl === undefined ? undefined : String(options.workerUrl);

  function start(): void {
    restartTimer = undefined;
    if (closed) return;
    const now = performance.now();
    budget.recordStart(now);
    starts++;
    const current = ++generation;
    let worker: Worker;
    try {
      worker = options.createWorker!();
    } catch (error) {
      // A CSP that forbids the worker, or a cross-origin URL, throws right here.
      return startFailed(current, `new Worker() threw ${describe(error)}`);
    }
    const remote = Comlink.wrap<WorkerApi>(worker);
    const entry: LiveWorker = { worker, remote, api: withDirectRun(remote, worker), generation: current, startedAt: now, ready: false };
    live = entry;
    worker.addEventListener('error', (event) => {
      if (current !== generation) return;
      const detail = event instanceof ErrorEvent && event.message ? `${event.message}${event.filename ? ` (${event.filename}:${event.lineno})` : ''}` : undefined;
      if (!entry.ready) startFailed(current, detail ?? 'the browser gave no detail: the URL may be a 404, not JavaScript, a syntax error, or blocked by CSP', event);
      else lose('crashed', `the worker crashed${detail ? `: ${detail}` : ''}`);
    });
    worker.addEventListener('message', (event: MessageEvent) => {
      if (current !== generation) return;
      // Anything the worker says proves it alive now: silence is measured from here, not from a ping
      // posted while it was busy (that pong comes after the result, and would look late).
      entry.ping = undefined;
      if (!isActivityMessage(event.data)) return;
      const call = calls.get(event.data.edgeinferActivity);
      if (!call) return;
      if (event.data.phase === 'start') call.startedAt = performance.now();
      else call.startedAt = undefined;
    });
    // The first answer proves the module loaded and exposed the API; calls wait for it.
    void remote.ping().then(
      () => {
        if (current !== generation) return;
        entry.ready = true;
        budget.recordHealthy();
        for (const waiter of [...waiters]) waiter.resolve(entry);
        waiters.clear();
      },
      () => undefined,
    );
    watch();
  }

  function startFailed(failedGeneration: number, detail: string, cause?: unknown): void {
    if (failedGeneration !== generation) return;
    live?.worker.terminate();
    live = undefined;
    const where = workerUrl ? `from ${workerUrl}` : '(its URL is unknown here: pass workerUrl to name it)';
    const error = new EdgeInferError(
      'engine/worker-start-failed',
      `The engine worker could not start ${where}: ${detail}. Check that the file is served at that path (open it in the browser), ` +
        `as JavaScript (Content-Type text/javascript), and that your Content-Security-Policy allows it (worker-src / script-src).`,
      { details: { workerUrl, detail, starts: budget.startsInWindow(performance.now()) }, ...(cause === undefined ? {} : { cause }) },
    );
    scheduleStart(error);
  }

  /** The worker hung or crashed: calls posted to it fail with engine/worker-lost, a new one starts. */
  function lose(kind: 'hung' | 'crashed', reason: string): void {
    const lost = live;
    if (!lost) return;
    lost.worker.terminate();
    live = undefined;
    const startedCalls: number[] = [];
    for (const [id, call] of calls) {
      if (call.sentTo !== lost.generation) continue;
      const started = call.startedAt !== undefined;
      if (started) startedCalls.push(id);
      calls.delete(id);
      call.reject(
        new EdgeInferError('engine/worker-lost', `The engine worker was replaced because ${reason}.`, {
          details: { kind, reason, started, label: call.budget?.label },
        }),
      );
    }
    const error = new EdgeInferError('engine/worker-lost', `The engine worker was replaced because ${reason}, too often to keep restarting it.`, {
      details: { kind, reason },
    });
    if (scheduleStart(error)) onRestart({ reason, kind, startedCalls });
  }

  /** Starts the next worker after the back-off, or gives up for this window. Returns whether one will start. */
  function scheduleStart(error: EdgeInferError): boolean {
    if (closed) return false;
    const now = performance.now();
    const next = budget.afterFailure(now);
    if ('exhausted' in next) {
      const windowMs = (options.restartPolicy ?? DEFAULT_RESTART_POLICY).windowMs;
      const message = `${error.message} Gave up after ${budget.startsInWindow(now)} worker starts in ${windowMs / 1000} s; calls fail with this error until then.`;
      const final = new EdgeInferError(error.code, message, { details: { ...error.details, gaveUp: true, retryAfterMs: Math.round(next.retryAt - now) }, cause: error.cause });
      failed = { error: final, retryAt: next.retryAt };
      for (const waiter of [...waiters]) waiter.reject(final);
      waiters.clear();
      for (const [id, call] of calls) {
        calls.delete(id);
        call.reject(final);
      }
      return false;
    }
    restartTimer = setTimeout(start, next.delayMs);
    return true;
  }

  function ready(): Promise<LiveWorker> {
    if (failed) {
      if (performance.now() < failed.retryAt) return Promise.reject(failed.error);
      failed = undefined;
    }
    if (live?.ready) return Promise.resolve(live);
    if (!live && !restartTimer && !closed) start();
    return new Promise((resolve, reject) => waiters.add({ resolve, reject }));
  }

  /** One timer while anything is pending: pings the worker and judges its silence. */
  function watch(): void {
    if (monitor || !options.createWorker) return;
    monitor = setInterval(check, Math.max(50, Math.min(1000, hangTimeoutMs / 4)));
  }

  function check(): void {
    const current = live;
    const now = performance.now();
    if (!current) return;
    if (!current.ready) {
      if (now - current.startedAt > Math.max(START_ALLOWANCE_MS, hangTimeoutMs)) {
        startFailed(current.generation, `it loaded but did not answer within ${Math.max(START_ALLOWANCE_MS, hangTimeoutMs)} ms (a top-level await that never settles, or a loop at start-up)`);
      }
      return;
    }
    const posted = [...calls.values()].filter((call) => call.sentTo === current.generation);
    if (posted.length === 0) {
      current.ping = undefined;
      if (calls.size === 0 && waiters.size === 0) stopWatching();
      return;
    }
    if (!current.ping) {
      const ping = { sentAt: now };
      current.ping = ping;
      void current.api.ping().then(
        () => {
          if (current.ping === ping) current.ping = undefined;
        },
        () => undefined,
      );
      return;
    }
    const silentMs = now - current.ping.sentAt;
    if (silentMs < hangTimeoutMs) return;
    const busy = posted.filter((call) => call.startedAt !== undefined && call.budget);
    if (busy.some((call) => now - call.startedAt! < call.budget!.allowanceMs)) return;
    const doing = busy.map((call) => `${call.budget!.label} (running ${Math.round(now - call.startedAt!)} ms, allowed ${Math.round(call.budget!.allowanceMs)} ms)`);
    lose('hung', doing.length ? `it answered nothing for ${Math.round(silentMs)} ms and is far past the expected time of its ${doing.join(', ')}` : `it answered no ping for ${Math.round(silentMs)} ms with no load or run in progress`);
  }

  function stopWatching(): void {
    if (monitor) clearInterval(monitor);
    monitor = undefined;
  }

  if (options.createWorker) start();
  else if (!inPageApi) throw new Error('createConnection needs createWorker or core');

  return {
    /** Workers started so far (the first included). */
    get starts() {
      return starts;
    },
    set onRestart(handler: (notice: RestartNotice) => void) {
      onRestart = handler;
    },
    /**
     * Calls the worker once it is started; rejects with engine/worker-lost if it dies or hangs meanwhile,
     * or with engine/worker-start-failed when no worker could start. `work` gets the call's id to pass
     * as `activity` on load and run.
     */
    call<T>(work: (api: WorkerApi, callId: number, activity: number | undefined) => Promise<T>, callBudget?: CallBudget): Promise<T> {
      const id = nextCallId++;
      if (inPageApi) return work(inPageApi, id, id);
      return new Promise<T>((resolve, reject) => {
        const call: PendingCall = { reject, budget: callBudget };
        calls.set(id, call);
        watch();
        ready().then(
          (current) => {
            if (!calls.has(id)) return;
            // Posted to an idle worker, a call starts the moment it arrives: the page marks it started
            // and the worker need not post start/end messages (two fewer per run on a tiny model).
            const idle = callBudget !== undefined && ![...calls.values()].some((other) => other !== call && other.sentTo === current.generation);
            call.sentTo = current.generation;
            if (idle) call.startedAt = performance.now();
            work(current.api, id, idle ? undefined : id).then(
              (value) => {
                if (calls.delete(id)) resolve(value);
              },
              (error: unknown) => {
                if (calls.delete(id)) reject(error);
              },
            );
          },
          (error: EdgeInferError) => {
            if (calls.delete(id)) reject(error);
          },
        );
      });
    },
    close(): void {
      closed = true;
      stopWatching();
      clearTimeout(restartTimer);
      live?.worker.terminate();
      live = undefined;
      const error = new EdgeInferError('engine/disposed', 'The engine was disposed.');
      for (const waiter of [...waiters]) waiter.reject(error);
      waiters.clear();
      for (const [id, call] of calls) {
        calls.delete(id);
        call.reject(error);
      }
      if (options.core) void options.core.disposeAll();
    },
  };
}

export type Connection = ReturnType<typeof createConnection>;

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
