/**
 * mulberry32: a tiny seeded generator of uniform numbers in [0, 1). Not for anything secret; for
 * inputs that must be the same on every run and machine (reference probes, synthetic calibration
 * images, simulated fleets in tests). The seed is taken as a 32-bit unsigned integer.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
