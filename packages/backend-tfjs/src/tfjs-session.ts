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

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

function unsupported(name: string, dtype: string, why: string): EdgeInferError {
  return new EdgeInferError('engine/dtype-unsupported', `TF.js cannot carry input "${name}" as ${dtype}: ${why}. An onnxruntime-web backend can.`, { details: { name, dtype } });
}

/**
 * TF.js tensors are float32, int32, bool or string. Narrower integers widen to int32 losslessly;
 * 64-bit and uint32 values pass only when every value fits int32; float64/float16 would change values.
 */
function toTfTensor(tf: typeof Tf, tensor: Tensor, name: string): Tf.Tensor {
  const shape = [...tensor.dims];
  switch (tensor.dtype) {
    case 'float32':
    case 'int32':
      return tf.tensor(tensor.data as Float32Array | Int32Array, shape, tensor.dtype);
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
      return tf.tensor(Int32Array.from(tensor.data as ArrayLike<number>), shape, 'int32');
    case 'int64':
    case 'uint64':
    case 'uint32': {
      const values = Array.from(tensor.data as ArrayLike<number | bigint>, Number);
      if (values.some((value) => value < INT32_MIN || value > INT32_MAX)) throw unsupported(name, tensor.dtype, 'a value does not fit int32, its widest integer');
      return tf.tensor(Int32Array.from(values), shape, 'int32');
    }
    case 'bool':
      return tf.tensor(tensor.data as Uint8Array, shape, 'bool');
    case 'string':
      return tf.tensor(tensor.data as string[], shape, 'string');
    default:
      throw unsupported(name, tensor.dtype, 'TF.js has no such dtype (float32, int32, bool and string only)');
  }
}

async function fromTfTensor(output: Tf.Tensor, name: string): Promise<Tensor> {
  const dims = [...output.shape];
  switch (output.dtype) {
    case 'float32':
      return { dtype: 'float32', dims, data: (await output.data()) as Float32Array };
    case 'int32':
      return { dtype: 'int32', dims, data: (await output.data()) as Int32Array };
    case 'bool':
      return { dtype: 'bool', dims, data: Uint8Array.from((await output.data()) as Uint8Array) };
    case 'string':
      return { dtype: 'string', dims, data: [...((await output.data()) as unknown as string[])] };
    default:
      throw new EdgeInferError('engine/dtype-unsupported', `Output "${name}" is ${output.dtype}, which edgeinfer tensors cannot carry.`, { details: { name, dtype: output.dtype } });
  }
}

const baseName = (name: string) => name.replace(/:0$/, '');

/**
 * Maps the app's names (the manifest's) onto the model's. Names are matched, never positions
 * (a 4-output graph model came back with every output under another's name when matched by
 * position); position is used only for a single tensor, where it cannot be ambiguous (TF.js
 * layers models name tensors after layers, which the manifest need not know).
 */
function resolveNames(kind: 'inputs' | 'outputs', wanted: readonly string[], modelNames: readonly string[], signatureNames: readonly string[]): string[] {
  const known = new Map<string, string>();
  for (const name of modelNames) {
    known.set(name, name);
    known.set(baseName(name), name);
  }
  for (const name of signatureNames) known.set(name, name);
  const resolved = wanted.map((name) => known.get(name) ?? known.get(baseName(name)));
  if (resolved.every((name): name is string => name !== undefined)) return resolved;
  if (wanted.length === 1 && modelNames.length === 1) return [modelNames[0]!];
  const missing = wanted.filter((_, index) => resolved[index] === undefined);
  throw new EdgeInferError(
    'engine/model-invalid',
    `The manifest's ${kind} ${missing.map((name) => `"${name}"`).join(', ')} are not in the TF.js model, whose ${kind} are ${[...new Set([...signatureNames, ...modelNames])].join(', ')}. Name them as the model does.`,
    { details: { kind, missing, model: modelNames, signature: signatureNames } },
  );
}

export function createTfjsSession(tf: typeof Tf, loaded: LoadedTfjsModel, backendName: string, options: SessionOptions = {}): Session {
  // A Sequential layers model loaded from memory has empty inputNames/outputNames (TF.js 4.22): its
  // symbolic tensors' names are the dependable ones for both kinds.
  const modelInputs = loaded.model.inputs.map((input) => input.name);
  const modelOutputs = loaded.model.outputs.map((output) => output.name);
  const signature = loaded.kind === 'graph' ? (loaded.model.modelSignature as { inputs?: Record<string, unknown>; outputs?: Record<string, unknown> } | undefined) : undefined;
  const inputNames = options.ioNames?.inputs ?? modelInputs;
  const outputNames = options.ioNames?.outputs ?? modelOutputs;
  const modelInputFor = resolveNames('inputs', inputNames, modelInputs, Object.keys(signature?.inputs ?? {}));
  const modelOutputFor = resolveNames('outputs', outputNames, modelOutputs, Object.keys(signature?.outputs ?? {}));
  const expectedShapes = new Map(loaded.model.inputs.map((input, index) => [modelInputs[index]!, (input.shape ?? []) as (number | null)[]]));
  let useAsync = loaded.kind === 'graph' && loaded.needsAsync;
  let disposed = false;

  /** The model's outputs in the order of `outputNames`, whichever way TF.js had to run. */
  async function execute(inputs: Tf.Tensor[]): Promise<Tf.Tensor[]> {
    if (loaded.kind === 'layers') {
      const byModelOrder = modelInputs.map((name) => inputs[modelInputFor.indexOf(name)]!);
      const result = loaded.model.predict(byModelOrder.length === 1 ? byModelOrder[0]! : byModelOrder);
      const all = Array.isArray(result) ? result : [result];
      return modelOutputFor.map((name) => all[modelOutputs.indexOf(name)]!);
    }
    const feeds: Tf.NamedTensorMap = Object.fromEntries(modelInputFor.map((name, index) => [name, inputs[index]!]));
    if (!useAsync) {
      try {
        const result = loaded.model.execute(feeds, modelOutputFor);
        return Array.isArray(result) ? result : [result];
      } catch (error) {
        // Graphs whose dynamic ops the op scan does not know still say so in the error.
        if (!/executeAsync/.test((error as Error)?.message ?? '')) throw error;
        useAsync = true;
      }
    }
    const result = await loaded.model.executeAsync(feeds, modelOutputFor);
    return Array.isArray(result) ? result : [result];
  }

  return {
    inputNames,
    outputNames,
    async run(feeds: NamedTensors) {
      if (disposed) throw new EdgeInferError('engine/disposed', 'This session was disposed.');
      if (tf.getBackend() !== backendName) await tf.setBackend(backendName);
      const created: Tf.Tensor[] = [];
      let outputs: Tf.Tensor[] = [];
      try {
        const inputs = inputNames.map((name, index) => {
          const feed = feeds[name];
          if (!feed) throw new EdgeInferError('engine/input-name', `Missing input "${name}".`, { details: { name } });
          const tensor = toTfTensor(tf, feed, name);
          created.push(tensor);
          const adapted = loaded.kind === 'layers' ? adaptLayout(tf, tensor, expectedShapes.get(modelInputFor[index]!) ?? []) : tensor;
          if (adapted !== tensor) created.push(adapted);
          return adapted;
        });
        outputs = await execute(inputs);
        const named: NamedTensors = {};
        for (const [index, name] of outputNames.entries()) named[name] = await fromTfTensor(outputs[index]!, name);
        return named;
      } finally {
        tf.dispose([...created, ...outputs]);
      }
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      loaded.model.dispose();
    },
  };
}
