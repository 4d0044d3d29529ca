/**
 * How often a lost or never-started worker may be replaced. Without a limit, a worker URL that is a
 * 404 restarts forever (issue 13 measured 782 starts in 20 s); a window keeps a device that loses a
 * worker now and then (a GPU reset once an hour) recovering for good.
 */
export interface RestartPolicy {
  /** Worker starts allowed in one window, the first start included. */
  readonly maxStarts: number;
  readonly windowMs: number;
  /** Wait before the second consecutive restart; doubles after each further failure. The first is immediate. */
  readonly firstBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { maxStarts: 5, windowMs: 60_000, firstBackoffMs: 250, maxBackoffMs: 4_000 };

export type NextStart = { readonly delayMs: number } | { readonly exhausted: true; readonly retryAt: number };

export interface RestartBudget {
  recordStart(now: number): void;
  /** The worker answered after starting: the back-off starts over. */
  recordHealthy(): void;
  /** After a failure: how long to wait before the next start, or that the window's starts are used up. */
  afterFailure(now: number): NextStart;
  startsInWindow(now: number): number;
}

export function createRestartBudget(policy: RestartPolicy = DEFAULT_RESTART_POLICY): RestartBudget {
  const starts: number[] = [];
  let failuresInARow = 0;
  const prune = (now: number) => {
    while (starts.length && now - starts[0]! >= policy.windowMs) starts.shift();
  };
  return {
    recordStart: (now) => void starts.push(now),
    recordHealthy: () => void (failuresInARow = 0),
    afterFailure(now) {
      failuresInARow++;
      prune(now);
      if (starts.length >= policy.maxStarts) return { exhausted: true, retryAt: starts[0]! + policy.windowMs };
      return { delayMs: failuresInARow <= 1 ? 0 : Math.min(policy.firstBackoffMs * 2 ** (failuresInARow - 2), policy.maxBackoffMs) };
    },
    startsInWindow(now) {
      prune(now);
      return starts.length;
    },
  };
}
