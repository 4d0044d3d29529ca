import { createEngine, createLoader, isEdgeInferError, type LoadProgress, type Model } from '@edgeinfer/runtime';
import { createByomModel, type ByomModel, type Normalization } from './byom.js';
import { createLatencyChart } from './latency-chart.js';

const MANIFEST_URL = new URL('/models/manifest.json', location.href).href;
const params = new URLSearchParams(location.search);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const modelSelect = $<HTMLSelectElement>('model-select');
const backendSelect = $<HTMLSelectElement>('backend-select');
const variantSelect = $<HTMLSelectElement>('variant-select');
const statusLine = $('status');
const cacheState = $('cache-state');
const errorLine = $('error');
const progressBar = $('progress-bar');
const progress = $('progress');
const phases = $('phases');
const infoList = $('model-info');
const predictions = $('predictions');
const latencyLine = $('latency');
const preview = $<HTMLCanvasElement>('preview');
const camera = $<HTMLVideoElement>('camera');
const cameraButton = $<HTMLButtonElement>('camera-button');
const fileInput = $<HTMLInputElement>('file-input');
const byomSummary = $('byom-summary');
const byomOption = modelSelect.querySelector<HTMLOptionElement>('option[value="byom"]')!;
const chart = createLatencyChart($<HTMLCanvasElement>('latency-chart'));

// Telemetry is opt-in, as on the kiosk page: ?collector=<collector base URL>&key=<ingest key>.
const collectorUrl = params.get('collector');
const ingestKey = params.get('key');
const engine = createEngine(collectorUrl && ingestKey ? { telemetry: { endpoint: collectorUrl, appKey: ingestKey } } : {});
const pageLoader = createLoader();
let model: Model | undefined;
let loading: Promise<void> | undefined;
let loadGeneration = 0;
let byom: ByomModel | undefined;

const PHASE_ORDER = ['download', 'verify', 'cache', 'compile', 'warmup'] as const;
const PHASE_TEXT: Record<string, string> = { manifest: 'Reading the manifest', download: 'Downloading', verify: 'Verifying SHA-256', cache: 'Caching in IndexedDB', ready: 'Compiling and warming up' };
/** Share of the bar each loader phase ends at: the download dominates. */
const PHASE_END: Record<string, number> = { manifest: 0.02, download: 0.85, verify: 0.88, cache: 0.9, ready: 0.95 };

function messageOf(error: unknown): string {
  if (isEdgeInferError(error)) return `${error.message} (${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

function showError(error: unknown, prefix = ''): void {
  errorLine.textContent = `${prefix}${messageOf(error)}`;
}

function setProgress(fraction: number, label: string): void {
  const percent = Math.round(fraction * 100);
  progressBar.style.width = `${percent}%`;
  progress.setAttribute('aria-valuenow', String(percent));
  statusLine.textContent = label;
}

/** Marks steps before `active` done, `active` current; 'all' marks every step done. */
function setPhase(active: (typeof PHASE_ORDER)[number] | 'none' | 'all'): void {
  const activeIndex = active === 'all' ? PHASE_ORDER.length : active === 'none' ? -1 : PHASE_ORDER.indexOf(active);
  phases.querySelectorAll<HTMLLIElement>('li').forEach((item, index) => {
    item.dataset.state = index < activeIndex ? 'done' : index === activeIndex ? 'active' : 'pending';
    if (index === activeIndex) item.setAttribute('aria-current', 'step');
    else item.removeAttribute('aria-current');
  });
}

const formatBytes = (bytes: number) => (bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1e3))} kB`);

function ago(timestamp: number): string {
  const seconds = Math.max(0, Math.round((Date.now() - timestamp) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  return minutes < 120 ? `${minutes} min ago` : `${Math.round(minutes / 60)} h ago`;
}

function renderInfo(current: Model): void {
  const info = current.info;
  const timings = info.timings;
  const rows: [string, string][] = [
    ['model', `${info.id} ${info.version} (${info.versionReason})`],
    ['backend', info.backend],
    ['why', info.selectionReason],
    ['not available', info.rejected.length ? info.rejected.map((entry) => `${entry.backend}: ${entry.reason}`).join('; ') : 'none'],
    ['fallbacks', info.fallbacks.length ? info.fallbacks.map((entry) => `${entry.backend} failed (${entry.code}): ${entry.message}`).join('; ') : 'none'],
    ['variant', `${info.variant} (${info.dtype}, ${formatBytes(info.sizeBytes)})`],
    ['load', `${timings.totalMs.toFixed(0)} ms: download ${timings.downloadMs.toFixed(0)}, verify ${timings.verifyMs.toFixed(0)}, cache ${timings.cacheMs.toFixed(0)}, compile ${timings.compileMs.toFixed(0)}, warm-up ${timings.warmupMs.toFixed(0)}`],
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

async function renderCacheState(current: Model): Promise<void> {
  const info = current.info;
  const records = await pageLoader.listCached().catch(() => []);
  const record = records.find((entry) => entry.key === `${info.id}@${info.version}/${info.variant}`);
  cacheState.textContent = info.fromCache
    ? `Served from cache, ${formatBytes(info.sizeBytes)}${record ? `, cached ${ago(record.cachedAt)}` : ''}.`
    : `Downloaded ${formatBytes(info.sizeBytes)}, verified and cached: the next load works offline.`;
  cacheState.dataset.fromCache = String(info.fromCache);
}

function selectedRef(): string {
  if (modelSelect.value === 'byom' && byom) return `${byom.manifestUrl}#${byom.modelId}`;
  return `${MANIFEST_URL}#${modelSelect.value}`;
}

async function loadSelected(): Promise<void> {
  const generation = ++loadGeneration;
  errorLine.textContent = '';
  document.body.dataset.ready = 'false';
  const previous = model;
  model = undefined;
  await previous?.dispose().catch(() => undefined);
  const backend = backendSelect.value;
  const variant = variantSelect.value;
  setPhase('none');
  cacheState.textContent = '';
  setProgress(0, 'Reading the manifest…');
  try {
    const loaded = await engine.load(selectedRef(), {
      ...(backend !== 'auto' ? { backends: [backend] } : {}),
      ...(variant !== 'auto' ? { variants: [variant] } : {}),
      onProgress: (event: LoadProgress) => {
        if (generation !== loadGeneration) return;
        const start = event.phase === 'download' ? PHASE_END.manifest! : 0;
        const within = event.phase === 'download' && event.totalBytes ? event.loadedBytes / event.totalBytes : 1;
        setProgress(start + (PHASE_END[event.phase]! - start) * within, `${PHASE_TEXT[event.phase] ?? event.phase}${event.file ? ` ${event.file.split(/[/#]/).pop()}` : ''}…`);
        if (event.phase === 'download' || event.phase === 'verify' || event.phase === 'cache') setPhase(event.phase);
        if (event.phase === 'ready') setPhase('compile');
      },
    });
    if (generation !== loadGeneration) {
      await loaded.dispose();
      return;
    }
    model = loaded;
    setPhase('all');
    renderInfo(loaded);
    await renderCacheState(loaded);
    setProgress(1, `Ready on ${loaded.info.backend}${loaded.info.fromCache ? ' (from cache)' : ''}.`);
    document.body.dataset.ready = 'true';
  } catch (error) {
    if (generation !== loadGeneration) return;
    setPhase('none');
    setProgress(0, 'Could not load the model. Pick another backend or model and press Load.');
    showError(error);
  }
}

interface ManifestSummary {
  models: Record<string, { channels: { stable: string }; versions: Record<string, { variants: Record<string, { dtype: string; files: { size: number }[] }> }> }>;
}

async function refreshVariants(): Promise<void> {
  const previous = variantSelect.value;
  try {
    const [url, id] = selectedRef().split('#') as [string, string];
    const manifest = (await (await fetch(url)).json()) as ManifestSummary;
    const entry = manifest.models[id];
    const variants = entry?.versions[entry.channels.stable]?.variants ?? {};
    variantSelect.replaceChildren(
      new Option('auto', 'auto'),
      ...Object.entries(variants).map(([name, variant]) => new Option(`${name}: ${variant.dtype}, ${formatBytes(variant.files.reduce((sum, file) => sum + file.size, 0))}`, name)),
    );
    if ([...variantSelect.options].some((option) => option.value === previous)) variantSelect.value = previous;
  } catch {
    // Offline: keep "auto"; the engine still serves the cached model.
  }
}

function drawPreview(source: CanvasImageSource): void {
  const context = preview.getContext('2d')!;
  context.imageSmoothingEnabled = false;
  context.fillStyle = '#000';
  context.fillRect(0, 0, preview.width, preview.height);
  context.drawImage(source, 0, 0, preview.width, preview.height);
}

async function classify(source: Blob | HTMLImageElement | HTMLVideoElement | ImageBitmap, shown?: CanvasImageSource): Promise<boolean> {
  await loading;
  if (!model) {
    showError(new Error('No model is loaded: pick a model and backend and press Load.'));
    return false;
  }
  try {
    const result = await model.classify(source, { topK: 5, timeoutMs: 30_000 });
    errorLine.textContent = '';
    if (shown) drawPreview(shown);
    predictions.replaceChildren(
      ...result.top.map((entry) => {
        const item = document.createElement('li');
        item.textContent = `${entry.label} — ${(entry.probability * 100).toFixed(1)}%`;
        const track = document.createElement('span');
        track.className = 'track';
        track.setAttribute('aria-hidden', 'true');
        const bar = document.createElement('span');
        bar.className = 'bar';
        bar.style.width = `${Math.max(0.5, entry.probability * 100)}%`;
        track.append(bar);
        item.append(track);
        return item;
      }),
    );
    latencyLine.textContent = `${result.timings.runMs.toFixed(1)} ms on ${result.backend} (total ${result.timings.totalMs.toFixed(1)} ms with queue and transfer)`;
    chart.add(result.backend, result.timings.runMs);
    document.body.dataset.classified = String(Number(document.body.dataset.classified ?? 0) + 1);
    return true;
  } catch (error) {
    showError(error);
    return false;
  }
}

async function buildGallery(): Promise<void> {
  const gallery = $('gallery');
  try {
    const entries = (await (await fetch('/models/gallery/index.json')).json()) as { file: string; label: string }[];
    for (const entry of entries) {
      const button = document.createElement('button');
      button.type = 'button';
      button.setAttribute('aria-label', `Sample: ${entry.label}`);
      button.setAttribute('aria-pressed', 'false');
      button.dataset.label = entry.label;
      const image = new Image();
      image.src = `/models/gallery/${entry.file}`;
      image.alt = '';
      button.append(image);
      button.addEventListener('click', async () => {
        gallery.querySelectorAll('button').forEach((other) => other.setAttribute('aria-pressed', String(other === button)));
        await image.decode();
        await classify(image, image);
      });
      gallery.append(button);
    }
  } catch (error) {
    gallery.textContent = `The sample images could not be loaded (${messageOf(error)}); upload an image instead.`;
  }
}

const MODEL_FILE = /\.(onnx|json|bin)$/i;

async function classifyFile(file: File | Blob): Promise<void> {
  const name = file instanceof File ? `"${file.name}" ` : 'The pasted file ';
  if (file.type && !file.type.startsWith('image/')) {
    showError(new Error(`${name}is not an image (${file.type}). Pick a PNG, JPEG, WebP or GIF image.`));
    return;
  }
  const bitmap = await createImageBitmap(file).catch(() => undefined);
  if (!bitmap) {
    showError(new Error(`${name}could not be decoded as an image: it is damaged or not an image. Pick a PNG, JPEG, WebP or GIF image.`));
    return;
  }
  await classify(bitmap, bitmap);
}

async function bringModel(files: File[]): Promise<void> {
  errorLine.textContent = '';
  const labels = $<HTMLInputElement>('byom-labels').value.split(',');
  const normalization = $<HTMLSelectElement>('byom-normalization').value as Normalization;
  byomSummary.textContent = `Reading ${files.map((file) => file.name).join(', ')}…`;
  try {
    const created = await createByomModel(files, { normalization, labels });
    byom?.revoke();
    byom = created;
    byomOption.hidden = false;
    byomOption.disabled = false;
    byomOption.textContent = `Your model: ${created.name}`;
    modelSelect.value = 'byom';
    byomSummary.textContent = `${created.name}: ${created.summary}.`;
    await refreshVariants();
    variantSelect.value = 'auto';
    await (loading = loadSelected());
  } catch (error) {
    byomSummary.textContent = '';
    showError(error, 'Your model could not be used: ');
  }
}

function handleFiles(files: File[]): void {
  if (files.length === 0) return;
  if (files.some((file) => MODEL_FILE.test(file.name))) void bringModel(files);
  else void classifyFile(files[0]!);
}

fileInput.addEventListener('change', () => {
  handleFiles([...(fileInput.files ?? [])]);
  fileInput.value = '';
});
const byomInput = $<HTMLInputElement>('byom-input');
byomInput.addEventListener('change', () => {
  const files = [...(byomInput.files ?? [])];
  byomInput.value = '';
  if (files.length) void bringModel(files);
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
  handleFiles([...(event.dataTransfer?.files ?? [])]);
});
dropZone.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    fileInput.click();
  }
});
document.addEventListener('paste', (event) => {
  const files = [...(event.clipboardData?.files ?? [])];
  if (files.length) handleFiles(files);
});

let cameraStream: MediaStream | undefined;

function stopCamera(): void {
  cameraStream?.getTracks().forEach((track) => track.stop());
  cameraStream = undefined;
  camera.hidden = true;
  cameraButton.textContent = 'Use camera';
  cameraButton.setAttribute('aria-pressed', 'false');
}

/** One frame in flight at a time: frames that arrive while a run is busy are skipped, never queued. */
function cameraLoop(): void {
  if (!cameraStream) return;
  void classify(camera, camera).then(() => {
    if (cameraStream) camera.requestVideoFrameCallback(() => cameraLoop());
  });
}

cameraButton.addEventListener('click', async () => {
  if (cameraStream) return stopCamera();
  errorLine.textContent = '';
  try {
    if (!navigator.mediaDevices?.getUserMedia) throw new Error('this browser offers no camera API here (it needs https or localhost)');
    cameraStream = await navigator.mediaDevices.getUserMedia({ video: true });
    camera.srcObject = cameraStream;
    camera.hidden = false;
    cameraButton.textContent = 'Stop camera';
    cameraButton.setAttribute('aria-pressed', 'true');
    await camera.play();
    cameraLoop();
  } catch (error) {
    stopCamera();
    const denied = error instanceof DOMException && (error.name === 'NotAllowedError' || error.name === 'SecurityError');
    const missing = error instanceof DOMException && error.name === 'NotFoundError';
    showError(
      new Error(
        denied
          ? 'Camera access was denied. Allow the camera for this site in the browser settings, or use a sample image.'
          : missing
            ? 'No camera was found on this device. Use a sample image or upload one.'
            : `The camera is not available: ${(error as Error).message}. Use a sample image or upload one.`,
      ),
    );
  }
});

$('load-button').addEventListener('click', () => void (loading = loadSelected()));
modelSelect.addEventListener('change', async () => {
  await refreshVariants();
  variantSelect.value = 'auto';
  loading = loadSelected();
});
backendSelect.addEventListener('change', () => void (loading = loadSelected()));
variantSelect.addEventListener('change', () => void (loading = loadSelected()));
$('clear-cache-button').addEventListener('click', async () => {
  try {
    await pageLoader.clearCache();
    cacheState.textContent = 'Cache cleared: the next load downloads the model again.';
    cacheState.dataset.fromCache = 'false';
    statusLine.textContent = 'Cache cleared.';
  } catch (error) {
    showError(error, 'The cache could not be cleared: ');
  }
});

if (params.get('backend')) backendSelect.value = params.get('backend')!;
if (params.get('model')) modelSelect.value = params.get('model')!;
await refreshVariants();
if (params.get('variant')) variantSelect.value = params.get('variant')!;
void buildGallery();
loading = loadSelected();
