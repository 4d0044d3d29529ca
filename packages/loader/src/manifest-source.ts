import { EdgeInferError, parseManifest, type Manifest } from '@edgeinfer/core';
import type { UseStore } from 'idb-keyval';
import { readValue, writeValue } from './chunked-store.js';

export interface ManifestResult {
  readonly manifest: Manifest;
  /** 'network' when fetched now; 'cache' when the last good copy served (offline or server down). */
  readonly source: 'network' | 'cache';
}

const isOffline = () => typeof navigator !== 'undefined' && navigator.onLine === false;

/**
 * Fetches and validates the manifest, keeping the last good copy so an offline device still knows
 * which version it runs. Offline, it makes no request at all.
 */
export async function fetchManifest(url: string, store: UseStore, fetchImpl: typeof fetch, signal?: AbortSignal): Promise<ManifestResult> {
  const cacheKey = `manifest:${url}`;
  if (!isOffline()) {
    let response: Response | undefined;
    try {
      response = await fetchImpl(url, { cache: 'no-store', signal: signal ?? null });
    } catch (error) {
      if (signal?.aborted) throw error;
    }
    if (response?.ok) {
      const text = await response.text();
      const json = parseJson(text);
      if (json.ok) {
        const manifest = parseManifest(json.value);
        await writeValue(store, cacheKey, manifest);
        return { manifest, source: 'network' };
      }
      // 200 with a page that is not JSON is a captive portal or a proxy's error page, not our
      // server: like an unreachable server, the last good copy serves.
      const cached = await readValue<unknown>(store, cacheKey);
      if (cached !== undefined) return { manifest: parseManifest(cached), source: 'cache' };
      throw new EdgeInferError(
        'core/invalid-manifest',
        `The manifest at ${url} is not JSON (it starts with ${JSON.stringify(text.slice(0, 40))}; Content-Type ${JSON.stringify(response.headers.get('content-type'))}). A captive portal or a server fallback page answers instead of the manifest; no copy is cached to fall back on.`,
        { details: { url, contentType: response.headers.get('content-type') }, cause: json.error },
      );
    }
    if (response && response.status < 500 && response.status !== 408) {
      throw new EdgeInferError('loader/http-status', `The manifest at ${url} answered HTTP ${response.status}. Check the manifest URL.`, {
        details: { url, status: response.status },
      });
    }
  }
  const cached = await readValue<unknown>(store, cacheKey);
  if (cached !== undefined) return { manifest: parseManifest(cached), source: 'cache' };
  throw new EdgeInferError('loader/offline', `The manifest at ${url} could not be fetched and no copy is cached. Connect once so the model can be cached.`, {
    details: { url },
  });
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error };
  }
}
