import { cpSync, createReadStream, existsSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';
import type { Connect, Plugin } from 'vite';
import { defaultClientConditions, defaultServerConditions } from 'vite';
import { defineConfig } from 'vitest/config';

const rootDir = import.meta.dirname;
const modelsDir = resolve(rootDir, 'models');

/** Cross-origin isolation: SharedArrayBuffer, and so WASM threads, exist only with both headers. */
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.md': 'text/markdown; charset=utf-8',
};

/** What of models/ the app serves: artifacts, manifest, gallery. Never the build scripts. */
function isServedModelPath(relativePath: string): boolean {
  return !relativePath.startsWith('build/') && !relativePath.endsWith('.py') && !relativePath.endsWith('.sh');
}

function serveModels(): Connect.NextHandleFunction {
  return (req, res, next) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/models/')) return next();
    const relativePath = normalize(decodeURIComponent(url.pathname.slice('/models/'.length)));
    const file = join(modelsDir, relativePath);
    if (relativePath.startsWith('..') || !isServedModelPath(relativePath) || !existsSync(file) || !statSync(file).isFile()) return next();
    res.setHeader('Content-Type', CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
    res.setHeader('Content-Length', String(statSync(file).size));
    res.setHeader('Cache-Control', 'no-cache');
    createReadStream(file).pipe(res);
  };
}

/** Serves /models/ from the repository's models/ in dev and preview, and copies it into the build. */
function modelsPlugin(): Plugin {
  return {
    name: 'edgeinfer-models',
    configureServer: (server) => void server.middlewares.use(serveModels()),
    configurePreviewServer: (server) => void server.middlewares.use(serveModels()),
    closeBundle() {
      cpSync(modelsDir, resolve(rootDir, 'dist/demo/models'), {
        recursive: true,
        filter: (source) => {
          const relative = source.slice(modelsDir.length + 1);
          return relative === '' || isServedModelPath(relative + (statSync(source).isDirectory() ? '/' : ''));
        },
      });
    },
  };
}

/** Browsers compile .wasm with streaming only when it is served as application/wasm. */
function wasmMimePlugin(): Plugin {
  const setMime: Connect.NextHandleFunction = (req, res, next) => {
    if (req.url?.split('?')[0]?.endsWith('.wasm')) res.setHeader('Content-Type', 'application/wasm');
    next();
  };
  return {
    name: 'edgeinfer-wasm-mime',
    configureServer: (server) => void server.middlewares.use(setMime),
    configurePreviewServer: (server) => void server.middlewares.use(setMime),
  };
}

/**
 * Serves Vite's content-hashed build files as production hosts do: cached for a year, never
 * revalidated (vite preview sends `no-cache` for everything). A repeat visit then sends no request
 * for the 14 MB onnxruntime-web .wasm, and any compiled wasm Chromium kept (keyed on the response's
 * time, which a revalidation renews) stays valid.
 */
function immutableAssetsPlugin(): Plugin {
  const hashedAsset = /^\/assets\/[^/?]+-[A-Za-z0-9_-]{8}\.[a-z0-9]+(\?|$)/;
  const setImmutable: Connect.NextHandleFunction = (req, res, next) => {
    if (hashedAsset.test(req.url ?? '')) {
      // sirv passes its own Cache-Control to writeHead, which wins over setHeader: replace it there.
      const writeHead = res.writeHead.bind(res) as (...args: unknown[]) => typeof res;
      res.writeHead = ((status: number, ...rest: unknown[]) => {
        const headers = rest.find((arg): arg is Record<string, unknown> => typeof arg === 'object' && arg !== null);
        if (headers) delete headers['Cache-Control'];
        res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        return writeHead(status, ...rest);
      }) as typeof res.writeHead;
    }
    next();
  };
  return { name: 'edgeinfer-immutable-assets', configurePreviewServer: (server) => void server.middlewares.use(setImmutable) };
}

// Inside the repo, @edgeinfer/* packages resolve to their TypeScript sources (the `source` export
// condition); apps that install the packages get the built dist/.
const sourceFirst = { conditions: ['source', ...defaultClientConditions] };

export default defineConfig({
  root: resolve(rootDir, 'demo'),
  resolve: sourceFirst,
  ssr: { resolve: { conditions: ['source', ...defaultServerConditions], externalConditions: ['source'] } },
  plugins: [modelsPlugin(), wasmMimePlugin(), immutableAssetsPlugin()],
  server: { host: '127.0.0.1', port: 5173, strictPort: true, headers: isolationHeaders, fs: { allow: [rootDir] } },
  // The preview server does not inherit server.headers.
  preview: { host: '127.0.0.1', port: 4173, strictPort: true, headers: isolationHeaders },
  build: {
    outDir: resolve(rootDir, 'dist/demo'),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 4096,
    rollupOptions: {
      input: { main: resolve(rootDir, 'demo/index.html'), quickstart: resolve(rootDir, 'demo/quickstart.html'), telemetry: resolve(rootDir, 'demo/telemetry-test.html'), harness: resolve(rootDir, 'demo/test-harness.html'), bench: resolve(rootDir, 'demo/bench/index.html'), kiosk: resolve(rootDir, 'demo/kiosk.html'), sw: resolve(rootDir, 'demo/sw.ts') },
      // The kiosk's service worker must keep a fixed name at the root (its URL is its identity, and its scope is at most its folder).
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
  worker: { format: 'es' },
  // Packages imported only inside the worker are missed by the dev dependency scan; without this the
  // dev page reloads mid-run when they are discovered.
  optimizeDeps: {
    include: ['comlink', 'idb-keyval', 'onnxruntime-web', 'onnxruntime-web/wasm', 'onnxruntime-web/jspi', 'onnxruntime-web/webgpu', '@tensorflow/tfjs', '@tensorflow/tfjs-backend-webgpu', '@tensorflow/tfjs-backend-wasm', 'chart.js'],
  },
  test: {
    root: rootDir,
    include: ['packages/*/test/**/*.test.ts'],
    environment: 'node',
    // A ceiling for a stuck test, not a speed limit: on a 2-core machine with both cores busy the
    // heavier collector tests (10,000 groups, PostgreSQL start-up) have come near 20 s.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
