import type { AdapterFacts, Capability } from '@edgeinfer/core';

const SOFTWARE_ADAPTER_HINTS = ['swiftshader', 'llvmpipe', 'software', 'microsoft basic render'];

/** Reads the adapter facts selection needs: a WebGPU adapter is not always a GPU. */
export function describeAdapter(adapter: GPUAdapter): AdapterFacts {
  const info = adapter.info;
  const legacyFallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const infoFallback = (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isSoftware: Boolean(legacyFallback || infoFallback) || SOFTWARE_ADAPTER_HINTS.some((hint) => text.includes(hint)),
    features: [...adapter.features].sort(),
  };
}

export async function probeWebGpu(): Promise<Capability & { gpuAdapter?: GPUAdapter }> {
  if (typeof navigator === 'undefined' || !('gpu' in navigator) || !navigator.gpu) {
    return { available: false, reason: 'navigator.gpu is missing: this browser has no WebGPU (or the page is not a secure context).' };
  }
  try {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return { available: false, reason: 'navigator.gpu.requestAdapter() returned null: WebGPU is disabled or no adapter fits.' };
    return { available: true, adapter: describeAdapter(adapter), gpuAdapter: adapter };
  } catch (error) {
    return { available: false, reason: `requestAdapter() failed: ${(error as Error).message}` };
  }
}
