// The least any worker design pays per call: onnxruntime-web's wasm-only build in a plain worker, no
// engine. One message in (the input copied by structured clone, as the engine's default run copies
// it), one out (the output buffer transferred). The bench times it beside the engine and the raw
// library on the page, so the engine's own cost separates from the page<->worker hop itself.
import * as ort from 'onnxruntime-web/wasm';

interface Init {
  readonly init: Uint8Array;
  readonly threads: number;
}
interface RunRequest {
  readonly id: number;
  readonly inputName: string;
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

let session: ort.InferenceSession | undefined;
/** The demo's tsconfig has the DOM lib: a worker's postMessage(message, transfer) by hand. */
const scope = self as unknown as { postMessage(message: unknown, transfer?: Transferable[]): void };

self.addEventListener('message', (event: MessageEvent<Init | RunRequest>) => {
  const message = event.data;
  if ('init' in message) {
    ort.env.wasm.numThreads = message.threads;
    ort.env.logLevel = 'error';
    void ort.InferenceSession.create(message.init, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }).then(
      (created) => {
        session = created;
        scope.postMessage({ ready: true });
      },
      (error: Error) => scope.postMessage({ error: error.message }),
    );
    return;
  }
  void (async () => {
    const started = performance.now();
    const outputs = await session!.run({ [message.inputName]: new ort.Tensor('float32', message.data, [...message.dims]) });
    const output = outputs[session!.outputNames[0]!]!;
    const data = (await output.getData()) as Float32Array;
    scope.postMessage({ id: message.id, dims: output.dims, data, runMs: performance.now() - started }, [data.buffer]);
  })();
});
