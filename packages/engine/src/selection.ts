import { backendId, type Backend, type Capability, type ManifestVariant } from '@edgeinfer/core';

export interface Candidate {
  readonly backend: Backend;
  readonly variant: string;
  readonly variantEntry: ManifestVariant;
  readonly capability: Capability;
  readonly score: number;
  readonly reason: string;
}

export interface SelectionRequest {
  readonly backends: readonly Backend[];
  readonly capabilities: ReadonlyMap<Backend, Capability>;
  readonly variants: Readonly<Record<string, ManifestVariant>>;
  /** Backend names or ids the app allows ('wasm', 'ort-webgpu'...), in its order of preference. */
  readonly allow?: readonly string[];
  /** Variant names the app allows, in its order of preference. */
  readonly variantPreference?: readonly string[];
}

/** A software adapter emulates the GPU on the CPU: measured 50-200x slower than WASM here. */
const SOFTWARE_ADAPTER_PENALTY = 1000;
/** Default variant order: full precision first; int8 wins download size, not wasm speed (see DESIGN.md). */
const DTYPE_RANK = { float32: 0, float16: 1, uint8: 2, int8: 3 } as const;

/** A backend named in a load's `backends` by its name ('wasm') or its id ('ort-wasm'). */
export const matchesBackend = (backend: Backend, name: string) => name === backend.name || name === backendId(backend);

type BackendQuestion = Omit<SelectionRequest, 'capabilities'>;

/** Variants the request allows, in order. */
const allowedVariants = (request: BackendQuestion) => Object.keys(request.variants).filter((name) => !request.variantPreference || request.variantPreference.includes(name));

/** Whether selection looks at this backend at all: named in `allow`, or (without it) a non-negative priority. */
const considered = (backend: Backend, request: BackendQuestion) => (request.allow ? request.allow.some((name) => matchesBackend(backend, name)) : backend.priority >= 0);

/** The allowed variants whose format and dtype the backend runs, before anything about the device. */
const runnableVariants = (backend: Backend, request: BackendQuestion) => allowedVariants(request).filter((name) => backend.supports(request.variants[name]!.format, request.variants[name]!.dtype));

/**
 * The backends rankCandidates needs a probe for: the ones it considers that run one of the variants.
 * A GPU probe holds the thread (Backend.probeBlocksThread), so an ONNX load on wasm never pays for WebGL.
 */
export function backendsToProbe(request: BackendQuestion): Backend[] {
  return request.backends.filter((backend) => considered(backend, request) && runnableVariants(backend, request).length > 0);
}

/**
 * Orders every (backend, variant) pair that can run on this device, best first, each with the
 * reason for its place. Pure: the engine probes, this decides.
 */
export function rankCandidates(request: SelectionRequest): { candidates: Candidate[]; rejected: { backend: string; reason: string }[] } {
  const candidates: Candidate[] = [];
  const rejected: { backend: string; reason: string }[] = [];
  for (const backend of request.backends) {
    const id = backendId(backend);
    if (!considered(backend, request)) continue;
    const allowIndex = request.allow ? request.allow.findIndex((name) => matchesBackend(backend, name)) : -1;
    const noVariant = { backend: id, reason: `no variant it can run (variants: ${allowedVariants(request).join(', ') || 'none'})` };
    // Format first: a backend that runs none of the model's formats is never probed for it.
    const runnable = runnableVariants(backend, request);
    if (runnable.length === 0) {
      rejected.push(noVariant);
      continue;
    }
    const capability = request.capabilities.get(backend);
    if (!capability?.available) {
      rejected.push({ backend: id, reason: capability?.reason ?? 'not probed' });
      continue;
    }
    // fp16 needs the adapter's shader-f16 (SwiftShader has none).
    const supported = runnable.filter((name) => request.variants[name]!.dtype !== 'float16' || capability.adapter?.features.includes('shader-f16') === true);
    if (supported.length === 0) {
      rejected.push(noVariant);
      continue;
    }
    for (const variant of supported) {
      const variantEntry = request.variants[variant]!;
      const reasons: string[] = [];
      let score = backend.priority;
      if (allowIndex >= 0) {
        score += 10_000 - allowIndex * 100;
        reasons.push('requested');
      } else if (capability.adapter?.isSoftware) {
        score -= SOFTWARE_ADAPTER_PENALTY;
        reasons.push(`software adapter (${capability.adapter.description || capability.adapter.vendor || capability.adapter.architecture}): GPU emulated on the CPU, slower than WASM`);
      } else if (capability.adapter) {
        reasons.push(`hardware adapter ${capability.adapter.vendor} ${capability.adapter.architecture}`.trim());
      }
      const preferenceIndex = request.variantPreference?.indexOf(variant) ?? -1;
      score -= preferenceIndex >= 0 ? preferenceIndex : DTYPE_RANK[variantEntry.dtype];
      reasons.push(`priority ${backend.priority}, variant ${variant} (${variantEntry.dtype})`);
      candidates.push({ backend, variant, variantEntry, capability, score, reason: reasons.join('; ') });
    }
  }
  candidates.sort((a, b) => b.score - a.score);
  return { candidates, rejected };
}
