// TF.js wasm must be pointed at its .wasm files; otherwise it fetches HTML, fails with "expected
// magic word" and silently stays on another backend. The files ship in this package's wasm/ folder
// (copied from @tensorflow/tfjs-backend-wasm at build time) and are referenced with
// `new URL(literal, import.meta.url)`, which Vite, webpack and Rollup emit as assets.
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'] as const;

function bundledWasmPaths(): Record<(typeof WASM_FILES)[number], string> {
  return {
    'tfjs-backend-wasm.wasm': new URL('../wasm/tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': new URL('../wasm/tfjs-backend-wasm-simd.wasm', import.meta.url).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL('../wasm/tfjs-backend-wasm-threaded-simd.wasm', import.meta.url).href,
  };
}

/** The .wasm URLs: from `assetsBaseUrl` (esbuild, no bundler) or beside this package's code. */
export function tfjsWasmPaths(assetsBaseUrl?: string): Record<string, string> {
  if (!assetsBaseUrl) return bundledWasmPaths();
  return Object.fromEntries(WASM_FILES.map((file) => [file, new URL(file, assetsBaseUrl).href]));
}
