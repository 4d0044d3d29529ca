import { createEngine, isEdgeInferError, type LoadProgress, type Model } from '@edgeinfer/runtime';
import { createLatencyChart } from './latency-chart.js';

const MANIFEST_URL = new URL('/models/manifest.json', location.href).href;
const params = new URLSearchParams(location.search);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSelect = $<HTMLSelectElement>('model-select');
const backendSelect = $<HTMLSelectElement>('backend-select');
const variantSelect = $<HTMLSelectElement>('variant-select');
const statusLine = $('status');
const errorLine = $('error');
const progressBar = $('progress-bar');
const progress = $('progress');
const infoList = $('model-info');
const predictions = $('predictions');
const latencyLine = $('latency');
const preview = $<HTMLCanvasElement>('preview');
const camera = $<HTMLVideoElement>('camera');
const chart = createLatencyChart($<HTMLCanvasElement>('latency-chart'));

const engine = createEngine();
let model: Model | undefined;
let loading: Promise<void> | undefined;

const PHASE_LABELS: Record<string, string> = { manifest: 'Reading manifest', download: 'Downloading', verify: 'Verifying', cache: 'Caching', ready: 'Compiling and warming up' };

function showError(error: unknown): void {
  const message = isEdgeInferError(error) ? `${error.message} (${error.code})` : (error as Error)?.message ?? String(error);
  errorLine.textContent = message;
}

function setProgress(fraction: number, label: string): void {
  const percent = Math.round(fraction * 100);
  progressBar.style.width = `${percent}%`;
  progress.setAttribute('aria-valuenow', String(percent));
  statusLine.textContent = label;
}

const formatBytes = (bytes: number) => (bytes > 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(0)} kB`);

function ago(timestamp: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - timestamp) / 1000));
  return seconds < 60 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}

function renderInfo(current: Model, cachedAt?: number): void {
  const info = current.info;
  const rows: [string, string][] = [
    ['model', `${info.id} ${info.version} (${info.versionReason})`],
    ['backend', info.backend],
    ['why', info.selectionReason],
    ['variant', `${info.variant} (${info.dtype}, ${formatBytes(info.sizeBytes)})`],
    ['cache', info.fromCache ? `served from cache, ${formatBytes(info.sizeBytes)}${cachedAt ? `, cached ${ago(cachedAt)}` : ''}` : `downloaded ${formatBytes(info.sizeBytes)} and cached`],
    ['fallbacks', info.fallbacks.length ? info.fallbacks.map((entry) => `${entry.backend}: ${entry.code} ${entry.message}`).join('; ') : 'none'],
    ['load', `${info.timings.totalMs.toFixed(0)} ms (download ${info.timings.downloadMs.toFixed(0)}, verify ${info.timings.verifyMs.toFixed(0)}, cache ${info.timings.cacheMs.toFixed(0)}, compile ${info.timings.compileMs.toFixed(0)}, warm-up ${info.timings.warmupMs.toFixed(0)})`],
  ];
  infoList.replaceChildren(
    ...rows.flatMap(([key, value]) => {
      const term = document.createElement('dt');
      term.textContent = key;
      const description = document.createElement('dd');
      description.textContent = value;
      description.dataset.key = key;
      return [term, description];
    }),
  );
}

async function loadSelected(): Promise<void> {
  errorLine.textContent = '';
  const previous = model;
  model = undefined;
  await previous?.dispose().catch(() => undefined);
  const backend = backendSelect.value;
  const variant = variantSelect.value;
  setProgress(0, 'Reading manifest…');
  try {
    const loaded = await engine.load(`${MANIFEST_URL}#${modelSelect.value}`, {
      ...(backend !== 'auto' ? { backends: [backend] } : {}),
      ...(variant !== 'auto' ? { variants: [variant] } : {}),
      onProgress: (event: LoadProgress) => {
        const fraction = event.totalBytes ? event.loadedBytes / event.totalBytes : 0;
        setProgress(event.phase === 'ready' ? 1 : fraction * 0.9, `${PHASE_LABELS[event.phase] ?? event.phase}${event.file ? ` ${event.file.split('/').pop()}` : ''}…`);
      },
    });
    model = loaded;
    const cached = (await engineLoaderRecords()).find((record) => record.key === `${loaded.info.id}@${loaded.info.version}/${loaded.info.variant}`);
    renderInfo(loaded, cached?.cachedAt);
    setProgress(1, `Ready on ${loaded.info.backend}${loaded.info.fromCache ? ' (from cache)' : ''}.`);
    document.body.dataset.ready = 'true';
  } catch (error) {
    setProgress(0, 'Could not load the model.');
    showError(error);
  }
}

async function refreshVariants(): Promise<void> {
  try {
    const manifest = (await (await fetch(MANIFEST_URL)).json()) as { models: Record<string, { channels: { stable: string }; versions: Record<string, { variants: Record<string, { files: { size: number }[] }> }> }> };
    const entry = manifest.models[modelSelect.value];
    const variants = entry?.versions[entry.channels.stable]?.variants ?? {};
    variantSelect.replaceChildren(
      new Option('auto', 'auto'),
      ...Object.entries(variants).map(([name, variant]) => new Option(`${name} (${formatBytes(variant.files.reduce((sum, file) => sum + file.size, 0))})`, name)),
    );
  } catch {
    // Offline: keep "auto"; the engine still serves the cached model.
  }
}

const { createLoader } = await import('@edgeinfer/runtime');
const pageLoader = createLoader();
const engineLoaderRecords = () => pageLoader.listCached().catch(() => []);

async function classify(source: Blob | HTMLImageElement | HTMLVideoElement, shown?: CanvasImageSource): Promise<void> {
  errorLine.textContent = '';
  await loading;
  if (!model) {
    showError(new Error('Load a model first.'));
    return;
  }
  try {
    const result = await model.classify(source, { topK: 5, timeoutMs: 30_000 });
    const context = preview.getContext('2d')!;
    context.imageSmoothingEnabled = false;
    if (shown) context.drawImage(shown, 0, 0, preview.width, preview.height);
    predictions.replaceChildren(
      ...result.top.map((entry) => {
        const item = document.createElement('li');
        item.textContent = `${entry.label} — ${(entry.probability * 100).toFixed(1)}%`;
        const bar = document.createElement('span');
        bar.className = 'bar';
        bar.style.width = `${Math.max(1, entry.probability * 100)}%`;
        item.append(bar);
        return item;
      }),
    );
    latencyLine.textContent = `${result.timings.runMs.toFixed(1)} ms on ${result.backend} (total ${result.timings.totalMs.toFixed(1)} ms with queue and transfer)`;
    chart.add(result.backend, result.timings.runMs);
    document.body.dataset.classified = String(Number(document.body.dataset.classified ?? 0) + 1);
  } catch (error) {
    showError(error);
  }
}

async function buildGallery(): Promise<void> {
  const gallery = $('gallery');
  const entries = (await (await fetch('/models/gallery/index.json')).json()) as { file: string; label: string }[];
  for (const entry of entries) {
    const button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('aria-label', `Sample: ${entry.label}`);
    button.dataset.label = entry.label;
    const image = new Image();
    image.src = `/models/gallery/${entry.file}`;
    image.alt = entry.label;
    button.append(image);
    button.addEventListener('click', async () => {
      gallery.querySelectorAll('button').forEach((other) => other.setAttribute('aria-pressed', String(other === button)));
      await image.decode();
      await classify(image, image);
    });
    gallery.append(button);
  }
}

async function classifyFile(file: File | Blob): Promise<void> {
  try {
    const bitmap = await createImageBitmap(file).catch(() => undefined);
    await classify(file, bitmap);
  } catch (error) {
    showError(error);
  }
}

$<HTMLInputElement>('file-input').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file) void classifyFile(file);
});
const dropZone = $('drop-zone');
dropZone.addEventListener('dragover', (event) => {
  event.preventDefault();
  dropZone.classList.add('over');
});
dropZone.addEventListener('dragleave', () => dropZone.classList.remove('over'));
dropZone.addEventListener('drop', (event) => {
  event.preventDefault();
  dropZone.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file) void classifyFile(file);
});
document.addEventListener('paste', (event) => {
  const file = [...(event.clipboardData?.files ?? [])][0];
  if (file) void classifyFile(file);
});
$('camera-button').addEventListener('click', async () => {
  try {
    camera.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
    camera.hidden = false;
    await camera.play();
    const loop = async () => {
      if (camera.hidden) return;
      await classify(camera, camera);
      requestAnimationFrame(() => void loop());
    };
    void loop();
  } catch (error) {
    showError(new Error(`The camera is not available: ${(error as Error).message}. Allow camera access or use a sample image.`));
  }
});
$('load-button').addEventListener('click', () => void (loading = loadSelected()));
modelSelect.addEventListener('change', () => void refreshVariants());
$('clear-cache-button').addEventListener('click', async () => {
  await pageLoader.clearCache();
  statusLine.textContent = 'Cache cleared: the next load downloads the model again.';
});

if (params.get('backend')) backendSelect.value = params.get('backend')!;
if (params.get('model')) modelSelect.value = params.get('model')!;
await refreshVariants();
if (params.get('variant')) variantSelect.value = params.get('variant')!;
await buildGallery();
loading = loadSelected();
