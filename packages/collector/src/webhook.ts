/** Posts operator events (guard decisions, devices going silent) as JSON to one URL, with a few retries. */
export interface Webhook {
  send(event: Readonly<Record<string, unknown>>): Promise<boolean>;
}

export function createWebhook(options: { readonly url: string; readonly attempts?: number; readonly timeoutMs?: number; readonly onFailure?: (error: Error) => void; readonly fetch?: typeof fetch }): Webhook {
  const attempts = options.attempts ?? 3;
  const doFetch = options.fetch ?? globalThis.fetch;
  return {
    async send(event) {
      let lastError: Error = new Error('not sent');
      for (let attempt = 0; attempt < attempts; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** (attempt - 1)));
        try {
          const response = await doFetch(options.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ source: 'edgeinfer-collector', ts: Date.now(), ...event }),
            signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
          });
          if (response.ok) return true;
          lastError = new Error(`HTTP ${response.status}`);
          // A 4xx other than 429 will not get better by retrying.
          if (response.status < 500 && response.status !== 429) break;
        } catch (error) {
          lastError = error as Error;
        }
      }
      options.onFailure?.(lastError);
      return false;
    },
  };
}
