import { EdgeInferError, type Backend, type Capability, type ModelFiles, type SessionOptions } from '@edgeinfer/core';
import type * as Ort from 'onnxruntime-web';
import { createOrtSession, deviceLostError, type GpuErrorWatch } from './ort-session.js';
import { probeWebGpu } from './webgpu-probe.js';

type OrtModule = typeof Ort;

export interface OrtBackendOptions {
  /**
   * Where onnxruntime-web's .wasm files are served from (a URL prefix ending in `/`). By default each
   * build finds its .wasm beside its own module (`new URL(..., import.meta.url)`), which Vite, webpack
   * and Rollup emit as assets; set this for esbuild or pages with no bundler (`npx edgeinfer-assets`).
   */
  readonly assetsBaseUrl?: string;
  /** WASM threads; defaults to min(4, cores) when cross-origin isolated, else 1. */
  readonly numThreads?: number;
  /**
   * How int8 ONNX models run on wasm. 'dequantize-weights' (default) folds the int8 weights to
   * float32 once at load: measured here, onnxruntime-web's wasm integer/QDQ kernels are 1.4-4.7x
   * slower than float32, so int8 stays a download and cache-size win. 'integer-kernels' keeps QDQ.
   */
  readonly int8Execution?: 'dequantize-weights' | 'integer-kernels';
}

/** Session config that lets constant folding turn DequantizeLinear(int8 initializer) into float32 weights. */
const FOLD_INT8_WEIGHTS = { session: { disable_quant_qdq: '1' } };

/**
 * onnxruntime-web ships one build per execution provider: the wasm-only build (14 MB .wasm) for the
 * wasm backend, and a WebGPU build (JSPI, 17 MB, where the browser has WebAssembly.Suspending, else
 * asyncify, 27 MB) only when WebGPU is tried. Each is a separate dynamic import, so a device that
 * runs wasm never downloads WebGPU code. The `*.bundle.min.mjs` entries locate their .wasm with
 * `new URL(..., import.meta.url)`, which bundlers emit as an asset served by URL (streaming compile,
 * cacheable by the browser's compiled-code cache).
 */
type OrtBuild = 'wasm' | 'webgpu-jspi' | 'webgpu-asyncify';

const ORT_WASM_FILES: Record<OrtBuild, string> = {
  wasm: 'ort-wasm-simd-threaded.wasm',
  'webgpu-jspi': 'ort-wasm-simd-threaded.jspi.wasm',
  'webgpu-asyncify': 'ort-wasm-simd-threaded.asyncify.wasm',
};

function importOrtBuild(build: OrtBuild): Promise<OrtModule> {
  if (build === 'wasm') return import('onnxruntime-web/wasm');
  if (build === 'webgpu-jspi') return import('onnxruntime-web/jspi');
  return import('onnxruntime-web/webgpu');
}

export function webGpuBuild(): OrtBuild {
  return typeof (WebAssembly as { Suspending?: unknown }).Suspending === 'function' ? 'webgpu-jspi' : 'webgpu-asyncify';
}

const ortModules = new Map<OrtBuild, Promise<OrtModule>>();
const warmedBuilds = new Map<OrtBuild, Promise<void>>();

/** ONNX Identity on float32[1] (79 bytes): a session on it makes onnxruntime-web instantiate its wasm. */
const WARM_MODEL = 'CAgSCWVkZ2VpbmZlcjo6ChAKAXgSAXkiCElkZW50aXR5EgR3YXJtWg8KAXgSCgoICAESBAoCCAFiDwoBeRIKCggIARIECgIIAUIECgAQDQ==';

/**
 * onnxruntime-web instantiates its wasm (streaming, from its URL) on the first session it creates and
 * has no public call for that alone; a session on a one-node model does it without a model download.
 * The wasm execution provider only: a WebGPU build's GPU device is still requested by load().
 */
function warmOrt(build: OrtBuild, options: OrtBackendOptions): Promise<void> {
  let pending = warmedBuilds.get(build);
  if (!pending) {
    pending = loadOrt(build, options).then(async (ort) => {
      const bytes = Uint8Array.from(atob(WARM_MODEL), (char) => char.charCodeAt(0));
      const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      await session.release();
    });
    warmedBuilds.set(build, pending);
  }
  return pending;
}

/** A load after warm() waits for it: onnxruntime-web's wasm starts once, not twice side by side. */
async function afterWarm(build: OrtBuild): Promise<void> {
  await warmedBuilds.get(build)?.catch(() => undefined);
}

/** onnxruntime-web is imported only when one of its backends is tried, and only the build it needs. */
function loadOrt(build: OrtBuild, options: OrtBackendOptions): Promise<OrtModule> {
  let pending = ortModules.get(build);
  if (!pending) {
    pending = importOrtBuild(build).then((ort) => {
      if (options.assetsBaseUrl) ort.env.wasm.wasmPaths = { wasm: new URL(ORT_WASM_FILES[build], options.assetsBaseUrl).href };
      ort.env.wasm.numThreads = options.numThreads ?? defaultThreads();
      ort.env.logLevel = 'error';
      return ort;
    });
    ortModules.set(build, pending);
  }
  return pending;
}

/**
 * Half the cores, at most 4, and only when cross-origin isolated (threads need SharedArrayBuffer).
 * Measured here (2 cores): 2 threads ran MobileNetV2 1.1-2.8x slower than 1, as the page and the
 * browser compete for the same cores; onnxruntime-web's own default is also half the cores.
 */
export function defaultThreads(): number {
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  return isolated ? Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 1) / 2))) : 1;
}

function probeWasm(): Capability {
  const simd = WebAssembly.validate(
    new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]),
  );
  if (!simd) return { available: false, reason: 'WebAssembly SIMD is not supported; onnxruntime-web needs it.' };
  return { available: true, details: { simd, threads: defaultThreads(), crossOriginIsolated: defaultThreads() > 1 || (typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated) } };
}

function sessionError(error: unknown, backend: string): EdgeInferError {
  if (error instanceof EdgeInferError) return error;
  const message = (error as Error)?.message ?? String(error);
  const invalid = /protobuf|parse|model format|Failed to load model|invalid model/i.test(message);
  return new EdgeInferError(invalid ? 'engine/model-invalid' : 'engine/backend-failed', `onnxruntime-web (${backend}) could not create a session: ${message}`, {
    details: { backend },
    cause: error,
  });
}

const deviceWatches = new WeakMap<GPUDevice, GpuErrorWatch>();

/** One watch per device: uncaptured errors (outside a run's error scopes) and loss. */
function watchDevice(device: GPUDevice): GpuErrorWatch {
  let watch = deviceWatches.get(device);
  if (watch) return watch;
  const errors: string[] = [];
  let lost: string | undefined;
  // addEventListener, not onuncapturederror: onnxruntime-web owns that handler on its device.
  device.addEventListener('uncapturederror', (event) => errors.push((event as GPUUncapturedErrorEvent).error.message));
  void device.lost.then((info) => {
    lost = `${info.reason}: ${info.message}`;
  });
  watch = {
    device,
    takeErrors: () => errors.splice(0),
    get lost() {
      return lost;
    },
  };
  deviceWatches.set(device, watch);
  // Fault specs destroy the device the sessions really run on.
  (globalThis as { __edgeinferGpuDevice?: GPUDevice }).__edgeinferGpuDevice = device;
  return watch;
}

/** Refuses early when there is no adapter; the device itself is onnxruntime-web's (see ortWebGpuDevice). */
async function prepareWebGpu(ort: OrtModule): Promise<void> {
  const probe = await probeWebGpu();
  if (!probe.gpuAdapter) throw new EdgeInferError('engine/backend-unavailable', probe.reason ?? 'No WebGPU adapter.');
  if (!ort.env.webgpu.powerPreference) ort.env.webgpu.powerPreference = 'high-performance';
}

/**
 * onnxruntime-web requests its own GPUDevice when its WebGPU backend initialises and publishes it
 * as env.webgpu.device (JSEP's initialize() redefines the property; the native WebGPU EP sets it from
 * webgpuInit), replacing any device assigned before. A device we created would be watched in vain
 * (measured: ORT's device logged 10 validation errors, ours 0), so the device is read after the
 * first session exists, from whichever onnxruntime-web build the webgpu backend loaded.
 */
async function ortWebGpuDevice(ort: OrtModule): Promise<GpuErrorWatch> {
  const device = await Promise.resolve((ort.env.webgpu as { device?: GPUDevice | Promise<GPUDevice> }).device);
  if (!device || typeof device.pushErrorScope !== 'function') {
    throw new EdgeInferError('engine/backend-failed', 'onnxruntime-web created a WebGPU session but exposes no GPUDevice in env.webgpu.device, so its errors cannot be watched.');
  }
  return watchDevice(device);
}

export function createOrtWebGpuBackend(options: OrtBackendOptions = {}): Backend {
  return {
    name: 'webgpu',
    library: 'ort',
    priority: 100,
    probe: () => probeWebGpu().then(({ gpuAdapter: _adapter, ...capability }) => capability),
    probeBlocksThread: true,
    // Integer (int8) kernels have no WebGPU implementation in onnxruntime-web; they would run on its CPU path.
    supports: (format, dtype) => format === 'onnx' && (dtype === 'float32' || dtype === 'float16'),
    warm: () => warmOrt(webGpuBuild(), options),
    async load(files: ModelFiles, _sessionOptions?: SessionOptions) {
      await afterWarm(webGpuBuild());
      const ort = await loadOrt(webGpuBuild(), options);
      await prepareWebGpu(ort);
      let session: Ort.InferenceSession;
      try {
        session = await ort.InferenceSession.create(new Uint8Array(files.files[files.entry]!), {
          executionProviders: ['webgpu'],
          graphOptimizationLevel: 'all',
        });
      } catch (error) {
        throw sessionError(error, 'webgpu');
      }
      const watch = await ortWebGpuDevice(ort).catch(async (error: unknown) => {
        await session.release().catch(() => undefined);
        throw error;
      });
      if (watch.lost) {
        await session.release().catch(() => undefined);
        throw deviceLostError(watch.lost);
      }
      return createOrtSession(ort, session, watch);
    },
  };
}

export function createOrtWasmBackend(options: OrtBackendOptions = {}): Backend {
  return {
    name: 'wasm',
    library: 'ort',
    priority: 80,
    probe: async () => probeWasm(),
    supports: (format) => format === 'onnx',
    warm: () => warmOrt('wasm', options),
    async load(files: ModelFiles) {
      await afterWarm('wasm');
      const ort = await loadOrt('wasm', options);
      try {
        const foldWeights = files.dtype === 'int8' && options.int8Execution !== 'integer-kernels';
        const session = await ort.InferenceSession.create(new Uint8Array(files.files[files.entry]!), {
          executionProviders: ['wasm'],
          graphOptimizationLevel: 'all',
          ...(foldWeights ? { extra: FOLD_INT8_WEIGHTS } : {}),
        });
        return createOrtSession(ort, session);
      } catch (error) {
        throw sessionError(error, 'wasm');
      }
    },
  };
}

export function createOrtBackends(options: OrtBackendOptions = {}): Backend[] {
  return [createOrtWebGpuBackend(options), createOrtWasmBackend(options)];
}
