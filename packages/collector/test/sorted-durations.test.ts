import { describe, expect, it } from 'vitest';
import { decodeDurations, encodeDurations, kthSmallest, mergeSorted, nearestRank, sortDurations } from '../src/sorted-durations.js';

function seeded(seed: number) {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

describe('sorted duration runs', () => {
  it('selects the k-th smallest across runs exactly as sorting everything would', () => {
    const random = seeded(5);
    for (let trial = 0; trial < 300; trial += 1) {
      const runCount = 1 + Math.floor(random() * 12);
      // Few distinct values in some trials, so ties straddle the pivot.
      const distinct = random() < 0.3 ? 3 : 1e6;
      const runs = Array.from({ length: runCount }, () => sortDurations(Array.from({ length: Math.floor(random() * 60) }, () => Math.floor(random() * distinct) / 10)));
      const everything = mergeSorted(runs);
      if (everything.length === 0) continue;
      for (const k of [1, everything.length, 1 + Math.floor(random() * everything.length)]) expect(kthSmallest(runs, k)).toBe(everything[k - 1]);
    }
  });

  it('refuses a rank outside the values', () => {
    expect(() => kthSmallest([Float64Array.of(1, 2)], 3)).toThrow(RangeError);
    expect(() => kthSmallest([], 1)).toThrow(RangeError);
  });

  it('uses the nearest-rank definition: ceil(p/100 * n)', () => {
    expect([nearestRank(50, 1), nearestRank(50, 10), nearestRank(95, 10), nearestRank(99, 1000), nearestRank(99, 1001)]).toEqual([1, 5, 10, 990, 991]);
  });

  it('keeps values bit-exact through a blob, also from an unaligned buffer', () => {
    const values = sortDurations([0.1 + 0.2, 1 / 3, 12.345678901234567, 0, 4e-7]);
    const stored = encodeDurations(values);
    const unaligned = Buffer.concat([Buffer.from([9]), stored]).subarray(1);
    expect([...decodeDurations(unaligned)]).toEqual([...values]);
    expect(() => decodeDurations(Buffer.alloc(7))).toThrow(/whole number/);
  });
});
