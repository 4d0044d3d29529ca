/**
 * Sorted runs of durations: how minute rollups store latencies (little-endian float64 in a blob),
 * and exact nearest-rank selection across many runs without merging them.
 */

/** Stores a sorted run as bytes; the values are kept exactly (no histogram, no rounding). */
export function encodeDurations(sorted: Float64Array): Buffer {
  return Buffer.from(sorted.buffer, sorted.byteOffset, sorted.byteLength);
}

/** Reads a stored run back: a view when the driver's Buffer is 8-byte aligned (it is never written to), else a copy. */
export function decodeDurations(bytes: Uint8Array): Float64Array {
  if (bytes.byteLength % 8 !== 0) throw new Error(`A duration run of ${bytes.byteLength} bytes is not a whole number of float64 values.`);
  if (bytes.byteOffset % 8 === 0) return new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 8);
  const copy = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

export function sortDurations(values: readonly number[]): Float64Array {
  return Float64Array.from(values).sort();
}

export function mergeSorted(runs: readonly Float64Array[]): Float64Array {
  let size = 0;
  for (const run of runs) size += run.length;
  const merged = new Float64Array(size);
  let offset = 0;
  for (const run of runs) {
    merged.set(run, offset);
    offset += run.length;
  }
  // Typed-array sort of concatenated runs is simpler than a k-way merge and fast enough for a minute's data.
  return merged.sort();
}

/** Nearest rank (1-based): ceil(p/100 * n), in integer arithmetic so no float rounding can move it. */
export function nearestRank(p: number, count: number): number {
  return Math.max(1, Math.floor((p * count + 99) / 100));
}

/** First index in [lo, hi) whose value is >= value (strict = false) or > value (strict = true). */
function bound(run: Float64Array, value: number, lo: number, hi: number, strict: boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (run[mid]! < value || (strict && run[mid] === value)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The k-th smallest value (1-based) of the union of sorted runs. Each round takes the weighted
 * median of the runs' middle values as pivot, which removes at least a quarter of what is left, so
 * it needs O(log n) rounds of one binary search per run: exact, and no merge of a million values.
 */
export function kthSmallest(runs: readonly Float64Array[], k: number): number {
  const active = runs.filter((run) => run.length > 0);
  const lo = active.map(() => 0);
  const hi = active.map((run) => run.length);
  let remaining = hi.reduce((total, size) => total + size, 0);
  if (!Number.isInteger(k) || k < 1 || k > remaining) throw new RangeError(`Rank ${k} is outside 1..${remaining}.`);
  for (;;) {
    const middles: { value: number; weight: number }[] = [];
    let only = -1;
    for (let index = 0; index < active.length; index += 1) {
      const size = hi[index]! - lo[index]!;
      if (size === 0) continue;
      only = middles.length === 0 ? index : -1;
      middles.push({ value: active[index]![(lo[index]! + hi[index]!) >>> 1]!, weight: size });
    }
    if (only >= 0) return active[only]![lo[only]! + k - 1]!;
    middles.sort((a, b) => a.value - b.value);
    let pivot = middles[0]!.value;
    for (let index = 0, seen = 0; index < middles.length; index += 1) {
      seen += middles[index]!.weight;
      if (seen * 2 >= remaining) {
        pivot = middles[index]!.value;
        break;
      }
    }
    const below = active.map((run, index) => bound(run, pivot, lo[index]!, hi[index]!, false));
    const atOrBelow = active.map((run, index) => bound(run, pivot, lo[index]!, hi[index]!, true));
    const countBelow = below.reduce((total, end, index) => total + end - lo[index]!, 0);
    const countAtOrBelow = atOrBelow.reduce((total, end, index) => total + end - lo[index]!, 0);
    if (k <= countBelow) {
      below.forEach((end, index) => (hi[index] = end));
      remaining = countBelow;
    } else if (k <= countAtOrBelow) {
      return pivot;
    } else {
      k -= countAtOrBelow;
      remaining -= countAtOrBelow;
      atOrBelow.forEach((end, index) => (lo[index] = end));
    }
  }
}
