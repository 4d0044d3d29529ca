// Node-side verdict for one conformance case: outputs compared by name with the ONNX reference.
import type { NodeCase } from './onnx-node-cases.js';
import { compareWire, type WireTensor } from './wire-tensors.js';

export type Verdict = 'pass' | 'wrong' | 'error' | 'unsupported';

export interface PageResult {
  readonly status: 'ran' | 'error';
  readonly outputs?: Record<string, WireTensor>;
  readonly backend?: string;
  readonly variant?: string;
  readonly code?: string;
  readonly message?: string;
  readonly fallbacks: readonly { backend: string; variant?: string; code: string; message: string }[];
}

/** The ONNX backend tests' tolerance is rtol 1e-3 (atol 1e-7, tight for float32 kernels); float16 gets its own precision's. */
export function toleranceFor(dtype: string) {
  return dtype === 'float16' ? { absolute: 1e-3, relative: 1e-2 } : { absolute: 1e-5, relative: 1e-3 };
}

export function judge(testCase: Pick<NodeCase, 'outputs'>, result: PageResult): { verdict: Verdict; detail: string } {
  if (result.status === 'error') return { verdict: 'error', detail: `${result.code}: ${result.message}` };
  for (const expected of testCase.outputs) {
    const mismatch = compareWire(expected.name, expected.tensor, result.outputs?.[expected.name], toleranceFor(expected.tensor.dtype));
    if (mismatch) return { verdict: 'wrong', detail: mismatch.slice(0, 300) };
  }
  return { verdict: 'pass', detail: '' };
}
