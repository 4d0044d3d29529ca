import { EdgeInferError, type NamedTensors, type Session, type Tensor } from '@edgeinfer/core';
import type * as Ort from 'onnxruntime-web';

type OrtModule = typeof Ort;

export function toOrtTensor(ort: OrtModule, tensor: Tensor): Ort.Tensor {
  return new ort.Tensor(tensor.dtype, tensor.data as never, tensor.dims as number[]);
}

export function fromOrtTensor(tensor: Ort.Tensor): Tensor {
  return { dtype: tensor.type as Tensor['dtype'], dims: [...tensor.dims], data: tensor.data as Tensor['data'] };
}

export interface GpuErrorWatch {
  /** Errors the device reported since the last call; validation failures give all-zero outputs silently. */
  takeErrors(): string[];
  readonly lost: string | undefined;
}

export function createOrtSession(ort: OrtModule, session: Ort.InferenceSession, gpu?: GpuErrorWatch): Session {
  let disposed = false;
  let running: Promise<unknown> = Promise.resolve();
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(feeds: NamedTensors) {
      if (disposed) throw new EdgeInferError('engine/disposed', 'This session was disposed.');
      if (gpu?.lost) throw new EdgeInferError('engine/backend-failed', `The WebGPU device was lost: ${gpu.lost}`, { details: { reason: gpu.lost } });
      const ortFeeds: Record<string, Ort.Tensor> = {};
      for (const [name, tensor] of Object.entries(feeds)) ortFeeds[name] = toOrtTensor(ort, tensor);
      // onnxruntime-web forbids overlapping runs on one session; the engine queues, this guards.
      const result = running.then(() => session.run(ortFeeds));
      running = result.catch(() => undefined);
      const outputs = await result;
      const gpuErrors = gpu?.takeErrors() ?? [];
      if (gpu?.lost || gpuErrors.length > 0) {
        throw new EdgeInferError('engine/backend-failed', `WebGPU reported an error during the run, so its outputs cannot be trusted: ${gpu?.lost ?? gpuErrors[0]}`, {
          details: { gpuErrors, lost: gpu?.lost },
        });
      }
      const named: NamedTensors = {};
      for (const [name, tensor] of Object.entries(outputs)) named[name] = fromOrtTensor(tensor);
      return named;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await session.release();
    },
  };
}
