/**
 * Errors that mean "not yet" rather than "never": the server is down or still starting, or the
 * network is not up (a container started before its database). A wrong password or database name
 * fails the same way every time and is not retried.
 */
const TRANSIENT = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', '57P03', '53300']);

export function isTransientConnectError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TRANSIENT.has(code)) return true;
  // pg reports a server that closed the socket during start-up without a code.
  // pg's own connect timeout (connectionTimeoutMillis) has no code either.
  return error instanceof Error && /Connection terminated unexpectedly|timeout exceeded when trying to connect|Connection terminated due to connection timeout/.test(error.message);
}

export interface ConnectRetryOptions {
  /** Total time to keep trying; 0 tries once. */
  readonly retryMs: number;
  readonly firstDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly onRetry?: (attempt: number, delayMs: number, cause: Error) => void;
}

/** Calls `connect` until it succeeds, a permanent error comes, or `retryMs` is used up (doubling delays, capped). */
export async function connectWithRetry<T>(connect: () => Promise<T>, options: ConnectRetryOptions): Promise<T> {
  const deadline = Date.now() + options.retryMs;
  let delayMs = options.firstDelayMs ?? 250;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await connect();
    } catch (error) {
      const wait = Math.min(delayMs, deadline - Date.now());
      if (!isTransientConnectError(error) || wait <= 0) throw error;
      options.onRetry?.(attempt, wait, error as Error);
      await new Promise((resolve) => setTimeout(resolve, wait));
      delayMs = Math.min(delayMs * 2, options.maxDelayMs ?? 4000);
    }
  }
}
