import { EdgeInferError, type Backend, type BackendName, type Capability, type ModelFiles, type SessionOptions } from '@edgeinfer/core';
import type * as Tf from '@tensorflow/tfjs';
import { loadTfjsModel } from './tfjs-model.js';
import { createTfjsSession } from './tfjs-session.js';

type TfjsBackendName = Extract<BackendName, 'webgl' | 'webgpu' | 'wasm' | 'cpu'>;

export interface TfjsBackendOptions {
  /** Where the TF.js .wasm files are served from (a URL prefix ending in `/`); default: beside this package's code. */
  readonly assetsBaseUrl?: string;
}

let tfModule: Promise<typeof Tf> | undefined;

/** TF.js is imported only when one of its backends is tried; its extra backends only when asked for. */
function loadTf(): Promise<typeof Tf> {
  tfModule ??= import('@tensorflow/tfjs').then((tf) => {
    tf.env().set('PROD', true);
    return tf;
  });
  return tfModule;
}

const registered = new Map<TfjsBackendName, Promise<void>>();

function registerBackend(tf: typeof Tf, name: TfjsBackendName, options: TfjsBackendOptions): Promise<void> {
  let pending = registered.get(name);
  if (!pending) {
    pending = (async () => {
      if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
      if (name === 'wasm') {
        const [wasm, assets] = await Promise.all([import('@tensorflow/tfjs-backend-wasm'), import('./tfjs-assets.js')]);
        // Its threaded build breaks in minified worker chunks ("e is not defined"): stay single-threaded.
        tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
        wasm.setWasmPaths(assets.tfjsWasmPaths(options.assetsBaseUrl));
      }
    })();
    registered.set(name, pending);
  }
  return pending;
}

/** Makes `name` the active TF.js backend and checks it really is: TF.js falls back silently. */
async function activate(tf: typeof Tf, name: TfjsBackendName, options: TfjsBackendOptions): Promise<void> {
  await registerBackend(tf, name, options);
  const ok = await tf.setBackend(name).catch(() => false);
  await tf.ready().catch(() => undefined);
  if (!ok || tf.getBackend() !== name) {
    throw new EdgeInferError('engine/backend-unavailable', `TF.js could not start its ${name} backend (active: ${tf.getBackend() ?? 'none'}).`, {
      details: { requested: name, active: tf.getBackend() },
    });
  }
}

function probeWebGl2(): Capability {
  try {
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : undefined;
    const gl = canvas?.getContext('webgl2');
    if (!gl) return { available: false, reason: 'No WebGL2 context (OffscreenCanvas.getContext("webgl2") returned null).' };
    const debug = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(debug ? gl.getParameter(debug.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    const isSoftware = /swiftshader|llvmpipe|software/i.test(renderer);
    return {
      available: true,
      adapter: { vendor: String(gl.getParameter(gl.VENDOR)), architecture: '', device: renderer, description: renderer, isSoftware, features: [] },
    };
  } catch (error) {
    return { available: false, reason: `WebGL2 probe failed: ${(error as Error).message}` };
  }
}

async function probeGpu(): Promise<Capability> {
  if (typeof navigator === 'undefined' || !navigator.gpu) return { available: false, reason: 'navigator.gpu is missing: no WebGPU.' };
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return { available: false, reason: 'No WebGPU adapter.' };
  const info = adapter.info;
  const text = `${info.vendor} ${info.architecture} ${info.description}`.toLowerCase();
  return {
    available: true,
    adapter: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      isSoftware: /swiftshader|llvmpipe|software/.test(text) || Boolean((info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter),
      features: [...adapter.features],
    },
  };
}

const PROBES: Record<TfjsBackendName, () => Promise<Capability>> = {
  webgl: async () => probeWebGl2(),
  webgpu: probeGpu,
  wasm: async () => ({ available: typeof WebAssembly === 'object' }),
  cpu: async () => ({ available: true }),
};

const PRIORITIES: Record<TfjsBackendName, number> = { webgl: 60, webgpu: 50, wasm: 40, cpu: -1 };

export function createTfjsBackend(name: TfjsBackendName, backendOptions: TfjsBackendOptions = {}): Backend {
  return {
    name,
    library: 'tfjs',
    priority: PRIORITIES[name],
    probe: PROBES[name],
    probeBlocksThread: name === 'webgl' || name === 'webgpu',
    supports: (format, dtype) => (format === 'tfjs-layers' || format === 'tfjs-graph') && (dtype === 'float32' || dtype === 'uint8'),
    async load(files: ModelFiles, options?: SessionOptions) {
      const tf = await loadTf();
      await activate(tf, name, backendOptions);
      const loaded = await loadTfjsModel(tf, files);
      return createTfjsSession(tf, loaded, name, options);
    },
  };
}

export function createTfjsBackends(options: TfjsBackendOptions = {}): Backend[] {
  return (['webgl', 'webgpu', 'wasm', 'cpu'] as const).map((name) => createTfjsBackend(name, options));
}
