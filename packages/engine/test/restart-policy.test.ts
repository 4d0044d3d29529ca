import { describe, expect, it } from 'vitest';
import { createRestartBudget } from '../src/restart-policy.js';
import { createRunTimes, checkRunElementCount } from '../src/run-budget.js';

const policy = { maxStarts: 5, windowMs: 60_000, firstBackoffMs: 250, maxBackoffMs: 4_000 };

describe('worker restarts', () => {
  it('a worker that never starts is retried with a growing back-off, then given up on for the rest of the window', () => {
    const budget = createRestartBudget(policy);
    let now = 0;
    const delays: number[] = [];
    budget.recordStart(now);
    for (;;) {
      const next = budget.afterFailure(now);
      if ('exhausted' in next) {
        expect(next.retryAt).toBe(60_000);
        break;
      }
      delays.push(next.delayMs);
      now += next.delayMs;
      budget.recordStart(now);
    }
    expect(delays).toEqual([0, 250, 500, 1000]);
    expect(budget.startsInWindow(now)).toBe(5);
  });

  it('a worker lost now and then keeps being replaced: the window slides and a healthy start resets the back-off', () => {
    const budget = createRestartBudget(policy);
    budget.recordStart(0);
    for (let hour = 1; hour <= 24; hour++) {
      const next = budget.afterFailure(hour * 3_600_000);
      expect(next).toEqual({ delayMs: 0 });
      budget.recordStart(hour * 3_600_000);
      budget.recordHealthy();
    }
  });
});

describe('how long a run may keep the worker silent', () => {
  const spec = [{ name: 'input', dtype: 'float32' as const, shape: ['batch', 3, 224, 224] as (number | string)[] }];
  it('before any measured run: ten times the check run, scaled to the batch, never under hangTimeoutMs', () => {
    const times = createRunTimes();
    const checkRunElements = checkRunElementCount(spec);
    expect(checkRunElements).toBe(3 * 224 * 224);
    const batch8 = { elements: 8 * checkRunElements, hangTimeoutMs: 200, checkRunMs: 50, checkRunElements };
    expect(times.allowanceMs(batch8)).toBe(10 * 50 * 8);
    expect(times.allowanceMs({ ...batch8, checkRunMs: 1 })).toBe(200);
  });

  it("after runs: four times the slowest seen per element, and never less than the caller's timeoutMs", () => {
    const times = createRunTimes();
    const elements = 1000;
    times.record(100, elements);
    times.record(300, elements);
    times.record(150, elements);
    const input = { elements: 2 * elements, hangTimeoutMs: 200, checkRunMs: 50, checkRunElements: elements };
    expect(times.allowanceMs(input)).toBe(4 * 300 * 2);
    expect(times.allowanceMs({ ...input, timeoutMs: 60_000 })).toBe(60_000);
    times.reset();
    expect(times.allowanceMs(input)).toBe(10 * 50 * 2);
  });
});
