import { createEngine, createWorker, isEdgeInferError, type ClassifyOutput, type Model, type RuntimeEngine } from '@edgeinfer/runtime';
import { createTelemetry, engineEventToTelemetry, type Telemetry } from '@edgeinfer/telemetry';
import { createKioskStats, createLabelSmoother } from './kiosk-stats.js';

/**
 * Kiosk mode: a full-screen camera loop for a device left running all day. Configured by URL:
 *   model      manifest model id (default fashion-mnist), or a full manifest URL with #model-id
 *   backend    auto (default), webgpu, wasm, webgl, or a backend id such as ort-wasm
 *   collector  telemetry collector base URL; key: its ingest key (both needed for telemetry)
 *   heartbeat  seconds between heartbeats (default 30)
 *   stall      seconds without a result before the watchdog restarts the engine (default 10)
 *   errors     consecutive failed frames before the watchdog restarts the engine (default 5)
 *   device     a name for this kiosk on the dashboard (default: a random id kept in localStorage)
 */
interface KioskConfig {
  readonly modelRef: string;
  readonly backend?: string;
  readonly collector?: string;
  readonly key?: string;
  readonly heartbeatMs: number;
  readonly stallMs: number;
  readonly maxConsecutiveErrors: number;
  readonly sampleRate: number;
  readonly deviceId: string;
  readonly testHooks: boolean;
}

/** Where the watchdog goes after the backend it restarted from; the engine's own ranking comes first. */
const FALLBACK_ORDER = ['ort-wasm', 'tfjs-webgl', 'tfjs-wasm', 'ort-webgpu', 'tfjs-webgpu', 'tfjs-cpu'];

function positiveNumber(value: string | null, fallback: number): number {
  const number = Number(value);
  return value !== null && Number.isFinite(number) && number > 0 ? number : fallback;
}

function deviceIdFrom(params: URLSearchParams): string {
  const given = params.get('device');
  if (given) return given.slice(0, 64);
  const stored = localStorage.getItem('edgeinfer-kiosk-device');
  if (stored) return stored;
  const created = `kiosk-${crypto.getRandomValues(new Uint32Array(2)).reduce((text, part) => text + part.toString(36), '')}`;
  localStorage.setItem('edgeinfer-kiosk-device', created);
  return created;
}

function readConfig(params: URLSearchParams): KioskConfig {
  const model = params.get('model') || 'fashion-mnist';
  const backend = params.get('backend');
  return {
    modelRef: model.includes('#') ? new URL(model, location.href).href : new URL(`/models/manifest.json#${model}`, location.href).href,
    ...(backend && backend !== 'auto' ? { backend } : {}),
    ...(params.get('collector') ? { collector: params.get('collector')! } : {}),
    ...(params.get('key') ? { key: params.get('key')! } : {}),
    heartbeatMs: positiveNumber(params.get('heartbeat'), 30) * 1000,
    stallMs: positiveNumber(params.get('stall'), 10) * 1000,
    maxConsecutiveErrors: positiveNumber(params.get('errors'), 5),
    sampleRate: Math.min(1, positiveNumber(params.get('sample'), 0.05)),
    deviceId: deviceIdFrom(params),
    testHooks: params.get('testHooks') === '1',
  };
}

const config = readConfig(new URLSearchParams(location.search));
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const video = $<HTMLVideoElement>('camera');
const labelView = $('label');
const confidenceView = $('confidence');
const messageView = $('message');
const startedAt = performance.now();
const stats = createKioskStats();
const smooth = createLabelSmoother();

const counters = { frames: 0, skipped: 0, results: 0, errors: 0, heartbeats: 0, watchdogRestarts: 0, engineRestarts: 0 };
/** Raw top-1 label of every result: what the spec reads to check the labels were steady. */
const labelCounts: Record<string, number> = {};
const restartLog: { reason: string; from?: string; at: number }[] = [];

let engine: RuntimeEngine | undefined;
let model: Model | undefined;
let currentWorker: Worker | undefined;
let generation = 0;
let busy = false;
let inFlightSince = 0;
let loadingSince = 0;
let consecutiveErrors = 0;
let lastCandidates: string[] = [];
const failedBackends = new Set<string>();
let offlineStart = 'not set up';

const telemetry: Telemetry | undefined =
  config.collector && config.key ? createTelemetry({ endpoint: config.collector, appKey: config.key, sampleRate: config.sampleRate, flushIntervalMs: config.heartbeatMs }) : undefined;

function setMessage(text: string): void {
  messageView.textContent = text;
}

function describe(error: unknown): string {
  if (isEdgeInferError(error)) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

/** Backends for the next load: none given means the engine's automatic choice. */
function backendsToTry(): string[] | undefined {
  if (failedBackends.size === 0) return config.backend ? [config.backend] : undefined;
  const preferred = config.backend ? FALLBACK_ORDER.filter((id) => id === config.backend || id.endsWith(`-${config.backend}`)) : [];
  const order = [...new Set([...preferred, ...lastCandidates, ...FALLBACK_ORDER])].filter((id) => !failedBackends.has(id));
  if (order.length > 0) return order;
  // Every backend failed once: start over rather than give up; a kiosk has nobody to press reload.
  failedBackends.clear();
  return config.backend ? [config.backend] : undefined;
}

async function startEngine(): Promise<void> {
  const myGeneration = ++generation;
  busy = false;
  model = undefined;
  if (engine) {
    counters.engineRestarts += engine.restarts;
    void engine.dispose();
  }
  const current = createEngine({
    createWorker: () => (currentWorker = createWorker()),
    // The engine replaces a silent worker by itself; the kiosk's watchdog acts first, and also covers
    // what the engine cannot see (a backend that answers pings but never finishes a run).
    hangTimeoutMs: config.stallMs * 3,
    onEvent: (event) => {
      const telemetryEvent = telemetry ? engineEventToTelemetry(event) : null;
      if (telemetryEvent) telemetry!.record(telemetryEvent);
    },
  });
  engine = current;
  loadingSince = performance.now();
  document.body.dataset.state = 'loading';
  const backends = backendsToTry();
  labelView.textContent = 'Loading the model…';
  try {
    const loaded = await current.load(config.modelRef, backends ? { backends } : {});
    if (myGeneration !== generation) return void loaded.dispose().catch(() => undefined);
    model = loaded;
    loadingSince = 0;
    consecutiveErrors = 0;
    lastCandidates = [...new Set(loaded.info.candidates.map((candidate) => candidate.backend))];
    inFlightSince = performance.now();
    document.body.dataset.state = 'running';
    document.body.dataset.backend = loaded.info.backend;
    labelView.textContent = '…';
    setMessage(restartLog.length ? `Recovered on ${loaded.info.backend} after: ${restartLog.at(-1)!.reason}.` : '');
    renderStatus();
  } catch (error) {
    if (myGeneration !== generation) return;
    counters.errors++;
    document.body.dataset.state = 'error';
    labelView.textContent = 'Model unavailable';
    setMessage(`${describe(error)} Retrying in 5 s.`);
    if (backends) backends.slice(0, 1).forEach((id) => failedBackends.add(id));
    setTimeout(() => myGeneration === generation && void startEngine(), 5000);
  }
}

function restart(reason: string, code: string): void {
  counters.watchdogRestarts++;
  const from = model?.info.backend;
  if (from) failedBackends.add(from);
  restartLog.push({ reason, ...(from ? { from } : {}), at: Date.now() });
  telemetry?.record({ type: 'error', code, ...(from ? { backend: from } : {}) });
  setMessage(`Watchdog: ${reason}; restarting the engine${from ? `, falling back from ${from}` : ''}.`);
  void startEngine();
}

function onResult(result: ClassifyOutput): void {
  counters.results++;
  consecutiveErrors = 0;
  stats.add(result.timings.totalMs);
  const [best] = result.top;
  if (!best) return;
  labelCounts[best.label] = (labelCounts[best.label] ?? 0) + 1;
  const shown = smooth(best.label);
  if (labelView.textContent !== shown) labelView.textContent = shown;
  document.body.dataset.label = shown;
  confidenceView.textContent = `${(best.probability * 100).toFixed(0)}% · ${result.timings.runMs.toFixed(1)} ms on ${result.backend}`;
  if (document.body.dataset.state !== 'running') document.body.dataset.state = 'running';
}

function onRunError(error: unknown): void {
  counters.errors++;
  consecutiveErrors++;
  setMessage(describe(error));
  if (consecutiveErrors >= config.maxConsecutiveErrors) restart(`${consecutiveErrors} frames failed in a row`, 'kiosk/repeated-errors');
}

/** Called once per new camera frame. At most one frame is in flight: frames that arrive meanwhile are skipped. */
function onFrame(): void {
  scheduleFrame();
  counters.frames++;
  const current = model;
  if (!current || busy || video.readyState < 2) {
    if (current && busy) counters.skipped++;
    return;
  }
  busy = true;
  inFlightSince = performance.now();
  const myGeneration = generation;
  current
    .classify(video, { topK: 5 })
    .then(
      (result) => myGeneration === generation && onResult(result),
      (error: unknown) => myGeneration === generation && onRunError(error),
    )
    .finally(() => {
      if (myGeneration === generation) busy = false;
    });
}

function scheduleFrame(): void {
  if ('requestVideoFrameCallback' in video) video.requestVideoFrameCallback(() => onFrame());
  else requestAnimationFrame(() => onFrame());
}

function watchdog(): void {
  const now = performance.now();
  if (model && busy && now - inFlightSince > config.stallMs) {
    restart(`no result for ${Math.round((now - inFlightSince) / 1000)} s`, 'kiosk/stall');
  } else if (!model && loadingSince && now - loadingSince > Math.max(60_000, config.stallMs * 3)) {
    restart(`the model did not load within ${Math.round((now - loadingSince) / 1000)} s`, 'kiosk/load-stall');
  }
  renderStatus();
}

async function startCamera(): Promise<void> {
  try {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('This browser offers no camera API here (it needs https or localhost).');
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
    video.srcObject = stream;
    for (const track of stream.getVideoTracks()) {
      track.addEventListener('ended', () => {
        setMessage('The camera stopped; reconnecting…');
        setTimeout(() => void startCamera(), 2000);
      });
    }
    await video.play();
    scheduleFrame();
  } catch (error) {
    const denied = error instanceof DOMException && error.name === 'NotAllowedError';
    setMessage(`${denied ? 'Camera access was denied: allow the camera for this site.' : `The camera is not available: ${describe(error)}`} Retrying in 5 s.`);
    setTimeout(() => void startCamera(), 5000);
  }
}

function memoryBytes(): number {
  // performance.memory is Chromium-only and covers the page's JS heap (not the worker's).
  const memory = (performance as Performance & { memory?: { usedJSHeapSize: number } }).memory;
  return memory ? Math.round(memory.usedJSHeapSize) : 0;
}

function heartbeat(): void {
  const info = model?.info;
  counters.heartbeats++;
  if (!telemetry) return;
  telemetry.record({
    type: 'heartbeat',
    fps: Math.round(stats.fps() * 100) / 100,
    p50Ms: Math.round(stats.p50Ms() * 100) / 100,
    memoryBytes: memoryBytes(),
    errors: counters.errors,
    uptimeS: Math.round((performance.now() - startedAt) / 1000),
    deviceId: config.deviceId,
    ...(info ? { backend: info.backend, model: { id: info.id, version: info.version, variant: info.variant } } : {}),
  });
  // Heartbeats say "alive": send them now instead of waiting for a full batch.
  void telemetry.flush().then(() => {
    $('status-heartbeat').textContent = `heartbeat ${new Date().toLocaleTimeString()}`;
  });
}

function renderStatus(): void {
  const info = model?.info;
  $('status-model').textContent = info ? `${info.id} ${info.version}` : '';
  $('status-backend').textContent = info ? `on ${info.backend}` : '';
  $('status-rate').textContent = `${stats.fps().toFixed(1)} frames/s · p50 ${stats.p50Ms().toFixed(1)} ms`;
  const restarts = counters.watchdogRestarts + counters.engineRestarts + (engine?.restarts ?? 0);
  $('status-restarts').textContent = restarts ? `${restarts} restart${restarts === 1 ? '' : 's'}` : '';
  // navigator.onLine can say online with no way to the server (a LAN without uplink): a manifest that
  // came from the cache says the server was not reached.
  const network = !navigator.onLine ? 'offline' : info?.manifestSource === 'cache' ? 'server unreachable' : undefined;
  $('status-network').textContent = network ? `${network}: running from cache` : `online · ${offlineStart}`;
}

/** Registers the service worker and waits until it controls this page, so every later fetch is cached. */
async function enableOfflineStart(): Promise<void> {
  if (!('serviceWorker' in navigator)) {
    offlineStart = 'no offline start (no service worker support)';
    return;
  }
  try {
    // In dev, Vite serves sw.ts itself; the build emits it as sw.js next to kiosk.html.
    const script = new URL(import.meta.env.DEV ? './sw.ts' : './sw.js', location.href);
    await navigator.serviceWorker.register(script, { type: 'module', scope: new URL('./', location.href).pathname });
    if (!navigator.serviceWorker.controller) {
      await new Promise<void>((resolve) => {
        navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true });
        setTimeout(resolve, 10_000);
      });
    }
    const controller = navigator.serviceWorker.controller;
    if (!controller) {
      offlineStart = 'offline start not ready';
      return;
    }
    navigator.serviceWorker.addEventListener('message', (event: MessageEvent<{ type?: string }>) => {
      if (event.data?.type === 'cached') {
        offlineStart = 'offline start ready';
        document.body.dataset.offlineReady = 'true';
      }
    });
    // What loaded before the worker took control: the page and its own modules.
    const urls = [location.href, ...performance.getEntriesByType('resource').map((entry) => entry.name)];
    controller.postMessage({ type: 'cache-urls', urls });
  } catch (error) {
    offlineStart = `no offline start (${describe(error)})`;
  }
}

$('fullscreen-button').addEventListener('click', () => void document.documentElement.requestFullscreen?.().catch(() => undefined));
addEventListener('online', renderStatus);
addEventListener('offline', renderStatus);

declare global {
  interface Window {
    __kiosk?: { snapshot(): unknown; terminateWorker?(): void };
  }
}
window.__kiosk = {
  snapshot: () => ({
    ...counters,
    engineRestarts: counters.engineRestarts + (engine?.restarts ?? 0),
    labelCounts: { ...labelCounts },
    restartLog: [...restartLog],
    backend: model?.info.backend ?? null,
    fromCache: model?.info.fromCache ?? null,
    label: labelView.textContent,
    fps: stats.fps(),
    p50Ms: stats.p50Ms(),
    telemetry: telemetry?.stats() ?? null,
    offlineStart,
    serviceWorkerControlled: Boolean(navigator.serviceWorker?.controller),
  }),
  // Fault injection for the end-to-end spec: kills the engine's worker the way a crash would.
  ...(config.testHooks ? { terminateWorker: () => currentWorker?.terminate() } : {}),
};

await enableOfflineStart();
void startCamera();
void startEngine();
setInterval(watchdog, 1000);
setInterval(heartbeat, config.heartbeatMs);
