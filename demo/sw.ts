/// <reference lib="webworker" />
// The kiosk's service worker: it keeps the app shell (HTML, JS chunks, the backends' .wasm) so the
// kiosk starts with no network. Models are not its business: the loader keeps them in IndexedDB,
// verified, so /models/ always goes to the network (and the loader falls back to its cache).
declare const self: ServiceWorkerGlobalScope;
export {};

const CACHE_PREFIX = 'edgeinfer-kiosk-';
const CACHE_NAME = `${CACHE_PREFIX}v1`;
/** A navigation waits this long for the network before the cached page is served. */
const NAVIGATION_TIMEOUT_MS = 4000;

self.addEventListener('install', (event) => event.waitUntil(self.skipWaiting()));

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) if (name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME) await caches.delete(name);
      // Take over the page that registered us, so the engine's worker and its .wasm go through the cache.
      await self.clients.claim();
    })(),
  );
});

function isCacheable(request: Request): boolean {
  const url = new URL(request.url);
  // Vite's dev client pings the server to decide when to reload; a cached answer would loop reloads.
  if (request.headers.get('accept') === 'text/x-vite-ping') return false;
  return request.method === 'GET' && url.origin === self.location.origin && !url.pathname.includes('/models/') && !request.headers.has('range');
}

async function store(request: Request | string, response: Response): Promise<void> {
  // Partial (206), opaque and error responses must not become the offline copy.
  if (response.status !== 200 || response.type === 'opaque') return;
  const cache = await caches.open(CACHE_NAME);
  await cache.put(request, response);
}

async function cachedCopy(request: Request): Promise<Response | undefined> {
  // Vite's dev server answers with "Vary: Origin", which a module script's request would not match.
  return (await caches.match(request, { ignoreVary: true })) ?? (request.mode === 'navigate' ? await caches.match(request, { ignoreSearch: true, ignoreVary: true }) : undefined);
}

async function networkFirst(request: Request, timeoutMs?: number): Promise<Response> {
  try {
    const response = await new Promise<Response>((resolve, reject) => {
      const timer = timeoutMs ? setTimeout(() => reject(new Error('network timeout')), timeoutMs) : undefined;
      fetch(request).then(resolve, reject).finally(() => clearTimeout(timer));
    });
    await store(request, response.clone());
    return response;
  } catch (error) {
    // The kiosk's URL carries its configuration: any cached copy of the page serves every query.
    const cached = await cachedCopy(request);
    if (cached) return cached;
    throw error;
  }
}

async function cacheFirst(request: Request): Promise<Response> {
  const cached = await cachedCopy(request);
  if (cached) return cached;
  const response = await fetch(request);
  await store(request, response.clone());
  return response;
}

const isKioskUrl = (url: string) => /\/kiosk(\.html)?$/.test(new URL(url).pathname);

/**
 * The scope is the whole origin because the engine's worker and its chunks live outside any
 * kiosk-only path, and a worker is controlled by the registration whose scope holds its own URL.
 * Only the kiosk page and workers are served from the cache; other pages of the site pass through.
 */
async function servedByKiosk(event: FetchEvent): Promise<boolean> {
  const client = event.clientId ? await self.clients.get(event.clientId) : undefined;
  return !client || client.type === 'worker' || isKioskUrl(client.url);
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (!isCacheable(request)) return;
  if (request.mode === 'navigate') {
    if (isKioskUrl(request.url)) event.respondWith(networkFirst(request, NAVIGATION_TIMEOUT_MS));
    return;
  }
  event.respondWith(
    (async () => {
      if (!(await servedByKiosk(event))) return fetch(request);
      // Built assets are content-hashed, so a cached copy is always right; dev modules are not.
      return import.meta.env.DEV ? networkFirst(request) : cacheFirst(request);
    })(),
  );
});

/** The page sends what it loaded before this worker controlled it (its HTML, its own modules). */
async function cacheUrls(urls: readonly string[]): Promise<number> {
  let added = 0;
  for (const url of urls) {
    const request = new Request(url);
    if (!isCacheable(request) || (await caches.match(request, { ignoreVary: true }))) continue;
    try {
      await store(request, await fetch(request));
      added++;
    } catch {
      // Offline or gone: the next visit retries; nothing else depends on it.
    }
  }
  return added;
}

self.addEventListener('message', (event) => {
  const data = event.data as { type?: string; urls?: unknown } | null;
  if (data?.type !== 'cache-urls' || !Array.isArray(data.urls)) return;
  const urls = data.urls.filter((url): url is string => typeof url === 'string');
  event.waitUntil(cacheUrls(urls).then((added) => event.source?.postMessage({ type: 'cached', added, total: urls.length })));
});
