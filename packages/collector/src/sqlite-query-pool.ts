import { Worker } from 'node:worker_threads';
import { EdgeInferError } from '@edgeinfer/core';
import type { QueryReply, QueryRequest } from './sqlite-query-protocol.js';
import { sqliteFault } from './sqlite-faults.js';

export interface QueryPoolOptions {
  readonly path: string;
  /** A query (queue wait included) that takes longer fails with collector/query-timeout. */
  readonly timeoutMs: number;
  /** Threads at most; each has its own read-only connection. Default 2. */
  readonly threads?: number;
}

type Request = QueryRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Job {
  readonly request: Request;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: EdgeInferError) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

interface Slot {
  readonly worker: Worker;
  job: Job | null;
}

// From the sources (tests, the bin script) the thread is TypeScript: the worker registers the same
// transpiling loader the bin script uses. A built package runs the emitted .js directly.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(`./sqlite-query-thread.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url).href;
const LOADER_URL = new URL('../source-run/typescript-loader.js', import.meta.url).href;
const BOOT = `${FROM_SOURCE ? `require('node:module').register(${JSON.stringify(LOADER_URL)});` : ''}import(${JSON.stringify(THREAD_URL)});`;

/**
 * Read queries on worker threads. A query past its time limit is answered with a typed error at once;
 * its thread is terminated (better-sqlite3 cannot interrupt a statement, so the thread exits when the
 * running statement returns) and a fresh one takes the next query.
 */
export function createQueryPool(options: QueryPoolOptions) {
  const maxThreads = options.threads ?? 2;
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  const retire = (slot: Slot) => {
    const at = slots.indexOf(slot);
    if (at >= 0) slots.splice(at, 1);
    void slot.worker.terminate();
  };

  const spawn = (): Slot => {
    const worker = new Worker(BOOT, { eval: true, workerData: { path: options.path } });
    worker.unref();
    const slot: Slot = { worker, job: null };
    worker.on('message', (reply: QueryReply) => {
      const job = slot.job;
      slot.job = null;
      if (job !== null) {
        clearTimeout(job.timer);
        if (reply.ok) job.resolve(reply.value);
        else job.reject(sqliteFault('answer the query', Object.assign(new Error(reply.message), { code: reply.sqliteCode })));
      }
      dispatch();
    });
    const fail = (cause: unknown) => {
      const job = slot.job;
      slot.job = null;
      retire(slot);
      if (job !== null) {
        clearTimeout(job.timer);
        job.reject(sqliteFault('run the query thread', cause));
      }
      dispatch();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (slots.includes(slot)) fail(new Error(`the query thread exited with code ${code}`));
    });
    slots.push(slot);
    return slot;
  };

  const dispatch = () => {
    while (queue.length > 0 && !closed) {
      const slot = slots.find((candidate) => candidate.job === null) ?? (slots.length < maxThreads ? spawn() : undefined);
      if (slot === undefined) return;
      const job = queue.shift()!;
      slot.job = job;
      slot.worker.postMessage({ ...job.request, id: nextId++ });
    }
  };

  return {
    run<T>(request: Request): Promise<T> {
      if (closed) return Promise.reject(new EdgeInferError('collector/storage', 'The storage is closed.'));
      return new Promise<T>((resolve, reject) => {
        const job: Job = {
          request,
          resolve: resolve as (value: unknown) => void,
          reject,
          timer: setTimeout(() => {
            const queued = queue.indexOf(job);
            if (queued >= 0) queue.splice(queued, 1);
            const slot = slots.find((candidate) => candidate.job === job);
            if (slot !== undefined) {
              slot.job = null;
              retire(slot);
            }
            reject(
              new EdgeInferError('collector/query-timeout', `The ${request.kind} query took longer than ${options.timeoutMs} ms and was abandoned; ask for a shorter range or wait for the roll-up to catch up.`, {
                details: { timeoutMs: options.timeoutMs, kind: request.kind },
              }),
            );
            dispatch();
          }, options.timeoutMs),
        };
        queue.push(job);
        dispatch();
      });
    },
    async close(): Promise<void> {
      closed = true;
      for (const job of queue.splice(0)) {
        clearTimeout(job.timer);
        job.reject(new EdgeInferError('collector/storage', 'The storage closed before the query ran.'));
      }
      await Promise.all(slots.splice(0).map((slot) => slot.worker.terminate()));
    },
  };
}
