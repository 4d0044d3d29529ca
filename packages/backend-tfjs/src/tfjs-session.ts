import { EdgeInferError, type NamedTensors, type Session, type SessionOptions, type Tensor } from '@edgeinfer/core';
import type * as Tf from '@tensorflow/tfjs';
import type { LoadedTfjsModel } from './tfjs-model.js';

/**
 * TF.js image models are NHWC; the app's contract (the manifest, shared with the ONNX variant) is
 * usually NCHW. An NCHW input whose channels and size match the model's NHWC input is transposed
 * here, so app code does not change with the variant.
 */
function adaptLayout(tf: typeof Tf, input: Tf.Tensor, expected: readonly (number | null)[]): Tf.Tensor {
  const dims = input.shape;
  if (dims.length !== 4 || expected.length !== 4) return input;
  const [, h, w, c] = expected;
  const isNchw = dims[1] === c && dims[2] === h && dims[3] === w && !(dims[1] === h && dims[2] === w && dims[3] === c);
  return isNchw ? tf.transpose(input, [0, 2, 3, 1]) : input;
}

function toTfTensor(tf: typeof Tf, tensor: Tensor): Tf.Tensor {
  if (tensor.dtype === 'float32' || tensor.dtype === 'int32') return tf.tensor(tensor.data as Float32Array | Int32Array, [...tensor.dims], tensor.dtype);
  if (tensor.dtype === 'uint8' || tensor.dtype === 'int8') return tf.tensor(Int32Array.from(tensor.data as Uint8Array), [...tensor.dims], 'int32');
  throw new EdgeInferError('engine/input-dtype', `TF.js models take float32 or integer inputs, not ${tensor.dtype}.`, { details: { dtype: tensor.dtype } });
}

export function createTfjsSession(tf: typeof Tf, loaded: LoadedTfjsModel, backendName: string, options: SessionOptions = {}): Session {
  const modelInputs = loaded.model.inputs.map((input) => input.name);
  const modelOutputs = loaded.model.outputs.map((output) => output.name);
  const inputNames = options.ioNames?.inputs ?? modelInputs;
  const outputNames = options.ioNames?.outputs ?? modelOutputs;
  const expectedShapes = loaded.model.inputs.map((input) => (input.shape ?? []) as (number | null)[]);
  let disposed = false;
  return {
    inputNames,
    outputNames,
    async run(feeds: NamedTensors) {
      if (disposed) throw new EdgeInferError('engine/disposed', 'This session was disposed.');
      if (tf.getBackend() !== backendName) await tf.setBackend(backendName);
      const outputs = tf.tidy(() => {
        const inputs = inputNames.map((name, index) => {
          const feed = feeds[name];
          if (!feed) throw new EdgeInferError('engine/input-name', `Missing input "${name}".`, { details: { name } });
          return adaptLayout(tf, toTfTensor(tf, feed), expectedShapes[index] ?? []);
        });
        const result = loaded.kind === 'layers' ? loaded.model.predict(inputs.length === 1 ? inputs[0]! : inputs) : loaded.model.execute(inputs.length === 1 ? inputs[0]! : inputs);
        return Array.isArray(result) ? result : [result as Tf.Tensor];
      });
      try {
        const named: NamedTensors = {};
        for (const [index, output] of outputs.entries()) {
          const data = await output.data();
          const name = outputNames[index] ?? `output_${index}`;
          named[name] = output.dtype === 'int32' ? { dtype: 'int32', dims: output.shape, data: data as Int32Array } : { dtype: 'float32', dims: output.shape, data: data as Float32Array };
        }
        return named;
      } finally {
        tf.dispose(outputs);
      }
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      loaded.model.dispose();
    },
  };
}
