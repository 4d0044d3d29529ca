// The default onnxruntime-web entry pairs with the JSEP build. Both the .mjs and the .wasm URL are
// given: with only the .mjs, a production build fails ("Invalid base URL"), and without either,
// threaded builds start their workers from the bundled worker chunk and hang silently.
import wasmModuleUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url';
import wasmBinaryUrl from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';

export const ortWasmPaths = { mjs: wasmModuleUrl, wasm: wasmBinaryUrl };
