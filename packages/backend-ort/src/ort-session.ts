import { EdgeInferError, TENSOR_DTYPES, type NamedTensors, type Session, type Tensor, type TensorDtype } from '@edgeinfer/core';
import type * as Ort from 'onnxruntime-web';

type OrtModule = typeof Ort;

export function toOrtTensor(ort: OrtModule, tensor: Tensor): Ort.Tensor {
  return new ort.Tensor(tensor.dtype, tensor.data as never, tensor.dims as number[]);
}

/** onnxruntime-web hands float16 back as a Float16Array where the browser has one; the contract carries the bits. */
function float16Bits(data: unknown): Uint16Array {
  if (data instanceof Uint16Array) return data;
  const view = data as ArrayBufferView;
  return new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
}

export function fromOrtTensor(tensor: Ort.Tensor, name: string): Tensor {
  const dtype = tensor.type as TensorDtype;
  if (!TENSOR_DTYPES.includes(dtype)) {
    throw new EdgeInferError('engine/dtype-unsupported', `Output "${name}" is ${tensor.type}, which edgeinfer tensors cannot carry (supported: ${TENSOR_DTYPES.join(', ')}).`, {
      details: { name, dtype: tensor.type },
    });
  }
  const data = dtype === 'float16' ? float16Bits(tensor.data) : tensor.data;
  return { dtype, dims: [...tensor.dims], data: data as Tensor['data'] };
}

export interface GpuErrorWatch {
  /** The GPUDevice onnxruntime-web really runs on (it requests its own; see ort-backends.ts). */
  readonly device: GPUDevice;
  /** Uncaptured errors the device reported since the last call (errors outside any run's error scope). */
  takeErrors(): string[];
  readonly lost: string | undefined;
}

const SCOPES: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];

/** Error scopes are a per-device stack: two runs interleaving their scopes would take each other's errors. */
const deviceQueues = new WeakMap<GPUDevice, Promise<unknown>>();

/**
 * Runs `work` inside error scopes on the device: a shader that fails validation gives all-zero
 * outputs and no exception, and its error reaches onuncapturederror only after run() has resolved.
 * popErrorScope resolves with the errors of exactly the calls made inside the scope.
 */
async function withGpuErrorScopes<T>(device: GPUDevice, work: () => Promise<T>): Promise<{ value: T; errors: string[] }> {
  const previous = deviceQueues.get(device) ?? Promise.resolve();
  const task = previous.then(async () => {
    for (const filter of SCOPES) device.pushErrorScope(filter);
    let value: T | undefined;
    let failure: unknown;
    let failed = false;
    try {
      value = await work();
    } catch (error) {
      failed = true;
      failure = error;
    }
    const popped: (GPUError | null)[] = [];
    for (let i = 0; i < SCOPES.length; i++) popped.push(await device.popErrorScope().catch(() => null));
    const errors = popped.filter((error): error is GPUError => error !== null).map((error) => error.message);
    if (failed) throw Object.assign(new Error('run failed'), { runError: failure, gpuErrors: errors });
    return { value: value as T, errors };
  });
  deviceQueues.set(device, task.catch(() => undefined));
  try {
    return await task;
  } catch (error) {
    const wrapped = error as { runError?: unknown; gpuErrors?: string[] };
    if (wrapped.gpuErrors?.length) throw gpuError(wrapped.gpuErrors, wrapped.runError);
    throw wrapped.runError ?? error;
  }
}

function gpuError(errors: string[], cause?: unknown): EdgeInferError {
  return new EdgeInferError('engine/gpu-error', `WebGPU reported ${errors.length} error(s) during the run, so its outputs cannot be trusted: ${errors[0]}`, {
    details: { gpuErrors: errors.slice(0, 10) },
    ...(cause ? { cause } : {}),
  });
}

export function deviceLostError(reason: string): EdgeInferError {
  return new EdgeInferError('engine/backend-failed', `The WebGPU device was lost: ${reason}`, { details: { deviceLost: reason } });
}

export function createOrtSession(ort: OrtModule, session: Ort.InferenceSession, gpu?: GpuErrorWatch): Session {
  let disposed = false;
  let running: Promise<unknown> = Promise.resolve();
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds: NamedTensors) {
      if (disposed) throw new EdgeInferError('engine/disposed', 'This session was disposed.');
      if (gpu?.lost) throw deviceLostError(gpu.lost);
      const ortFeeds: Record<string, Ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(ort, tensor);
      const runOnce = () => session.run(ortFeeds);
      // onnxruntime-web forbids overlapping runs on one session; the engine queues, this guards.
      const result = running.then(() => (gpu ? withGpuErrorScopes(gpu.device, runOnce) : runOnce().then((value) => ({ value, errors: [] as string[] }))));
      running = result.catch(() => undefined);
      let settled: Awaited<typeof result>;
      try {
        settled = await result;
      } catch (error) {
        if (gpu?.lost) throw deviceLostError(gpu.lost);
        throw error;
      }
      const { value: outputs, errors } = settled;
      const stray = gpu?.takeErrors() ?? [];
      if (gpu?.lost) throw deviceLostError(gpu.lost);
      if (errors.length > 0 || stray.length > 0) throw gpuError([...errors, ...stray]);
      const named: NamedTensors = {};
      // By name, never by position: the model's output names are the contract.
      for (const name of session.outputNames) {
        const tensor = outputs[name];
        if (tensor) named[name] = fromOrtTensor(tensor, name);
      }
      return named;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await session.release();
    },
  };
}
