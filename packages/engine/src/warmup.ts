import { EdgeInferError, allocateTensorData, compareOutputs, elementCount, isEdgeInferError, type NamedTensors, type Probe, type ProbeTolerance, type Session, type Tensor, type TensorDtype, type TensorSpec } from '@edgeinfer/core';

/** One of each dtype: ones are valid for more models than zeros (a divisor, a depth, a shape of ones). */
const ONE: Record<TensorDtype, number | bigint | string> = {
  float32: 1, float64: 1, float16: 0x3c00, int8: 1, int16: 1, int32: 1, int64: 1n, uint8: 1, uint16: 1, uint32: 1, uint64: 1n, bool: 1, string: 'a',
};

/**
 * Warm-up inputs of the declared shapes (dynamic dims set to 1). They are synthetic: a model may
 * rightly refuse them or answer NaN (log of a mask, a Reshape whose shape is an input), so a
 * warm-up run never rejects a backend for its answer, only for a backend fault (see isBackendFault).
 */
export function warmupFeeds(specs: readonly TensorSpec[]): NamedTensors {
  const feeds: NamedTensors = {};
  for (const spec of specs) {
    const dims = spec.shape.map((dim) => (typeof dim === 'number' ? dim : 1));
    const data = allocateTensorData(spec.dtype, elementCount(dims));
    (data as unknown as { fill(value: unknown): void }).fill(ONE[spec.dtype]);
    feeds[spec.name] = { dtype: spec.dtype, dims, data } as Tensor;
  }
  return feeds;
}

/**
 * Failures that say the backend is broken whatever the input: a GPU validation/OOM error, a lost
 * device, a dtype the backend cannot carry. Anything else a synthetic input caused is the input's fault.
 */
export function isBackendFault(error: unknown): boolean {
  if (!isEdgeInferError(error)) return false;
  return error.code === 'engine/gpu-error' || error.code === 'engine/dtype-unsupported' || (error.code === 'engine/backend-failed' && error.details.deviceLost !== undefined);
}

export interface CheckOutcome {
  /** 'probe': the reference probe agreed; 'warm-up': a synthetic run, which can only catch backend faults. */
  readonly kind: 'probe' | 'warm-up';
  /** Why a warm-up run's own error was not held against the backend (the model refused the synthetic input). */
  readonly inconclusive?: string;
}

/**
 * The check a candidate passes before it is adopted. With a probe: its inputs are valid by
 * construction, so any throw or any output out of tolerance rejects the backend. Without one: a
 * warm-up on synthetic inputs that rejects only backend faults.
 */
export async function checkSession(session: Session, specs: readonly TensorSpec[], backend: string, probe?: { probe: Probe; tolerance: ProbeTolerance }): Promise<CheckOutcome> {
  if (probe) {
    const outputs = await session.run(probe.probe.inputs);
    const mismatch = compareOutputs(probe.probe.outputs, outputs, probe.tolerance);
    if (mismatch) {
      throw new EdgeInferError('engine/probe-mismatch', `${backend} disagrees with the reference probe: ${mismatch.message}. Its kernels give wrong answers for this model here.`, {
        details: { backend, ...mismatch, tolerance: probe.tolerance },
      });
    }
    return { kind: 'probe' };
  }
  try {
    await session.run(warmupFeeds(specs));
    return { kind: 'warm-up' };
  } catch (error) {
    if (isBackendFault(error)) throw error;
    return { kind: 'warm-up', inconclusive: (error as Error)?.message ?? String(error) };
  }
}
