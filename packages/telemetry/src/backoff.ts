export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Injected so tests can pin the jitter; defaults to Math.random. */
  readonly random?: () => number;
}

/**
 * Exponential back-off with "equal jitter": half the window is fixed, half random. The fixed half
 * keeps a retry storm from collapsing to zero delay; the random half spreads the many kiosks that
 * lost the collector at the same moment so they do not all come back at the same moment.
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const window = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt));
  return Math.round(window / 2 + random() * (window / 2));
}

/** Reads a Retry-After header (seconds or an HTTP date) as milliseconds from now, or 0. */
export function retryAfterMs(header: string | null, now: number): number {
  if (header === null || header.trim() === '') return 0;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 0 : Math.max(0, date - now);
}
