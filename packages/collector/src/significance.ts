/**
 * The significance tests behind GET /v1/compare, on counts and sorted runs (no raw events needed):
 * a two-proportion z-test for rates, and a Mann-Whitney U test (normal approximation with tie
 * correction) for latency and confidence, computed from fine-grained bin counts.
 */

/** Standard normal upper tail P(Z > z), Abramowitz & Stegun 26.2.17 (absolute error < 7.5e-8). */
export function normalUpperTail(z: number): number {
  if (!Number.isFinite(z)) return z > 0 ? 0 : 1;
  const x = Math.abs(z);
  const t = 1 / (1 + 0.2316419 * x);
  const density = Math.exp((-x * x) / 2) / Math.sqrt(2 * Math.PI);
  const tail = density * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return z >= 0 ? tail : 1 - tail;
}

export interface ProportionTest {
  readonly test: 'two-proportion z-test';
  readonly z: number | null;
  /** Two-sided. */
  readonly pValue: number | null;
  /** False when the normal approximation does not hold (fewer than 5 expected successes or failures on a side). */
  readonly valid: boolean;
}

/** H0: both sides have the same rate. Pooled standard error; z > 0 means the candidate's rate is higher. */
export function twoProportionZTest(candidateHits: number, candidateTotal: number, baselineHits: number, baselineTotal: number): ProportionTest {
  if (candidateTotal === 0 || baselineTotal === 0) return { test: 'two-proportion z-test', z: null, pValue: null, valid: false };
  const pooled = (candidateHits + baselineHits) / (candidateTotal + baselineTotal);
  const valid = [candidateTotal, baselineTotal].every((n) => n * pooled >= 5 && n * (1 - pooled) >= 5);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / candidateTotal + 1 / baselineTotal));
  if (se === 0) return { test: 'two-proportion z-test', z: 0, pValue: 1, valid };
  const z = (candidateHits / candidateTotal - baselineHits / baselineTotal) / se;
  return { test: 'two-proportion z-test', z, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))), valid };
}

/**
 * How values are binned for the rank test: ties within a bin are real ties for it. Bins are given by
 * ascending edges (bin i holds [edges[i-1], edges[i]), bin 0 everything below edges[0]), so a sorted
 * run is counted by walking the edges, with no logarithm per value.
 */
export interface Binning {
  readonly bins: number;
  readonly edges: Float64Array;
}

function edgesOf(count: number, edge: (index: number) => number): Float64Array {
  return Float64Array.from({ length: count }, (_, index) => edge(index));
}

/** Confidence (0..1) in steps of 0.001 (the last bin holds exactly 1). */
export const PROBABILITY_BINS: Binning = { bins: 1001, edges: edgesOf(1000, (index) => (index + 1) / 1000) };

/** Latency on a log scale, 0.5 % wide bins from 1 µs up: far finer than any clock a browser gives. */
export const LATENCY_BINS: Binning = { bins: 6000, edges: edgesOf(5999, (index) => 0.001 * 1.005 ** index) };

/** The bin of one value: the number of edges at or below it. */
export function binOf(value: number, binning: Binning): number {
  let lo = 0;
  let hi = binning.edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (binning.edges[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface RankTest {
  readonly test: 'Mann-Whitney U';
  readonly u: number | null;
  readonly z: number | null;
  /** Two-sided. */
  readonly pValue: number | null;
  /** P(candidate > baseline) + P(equal) / 2: 0.5 means no shift, above means the candidate's values are larger. */
  readonly probabilityGreater: number | null;
}

/**
 * Mann-Whitney U from bin counts: midranks for ties, the tie-corrected variance and a continuity
 * correction. z > 0 means the candidate's values tend to be larger.
 */
export function mannWhitneyU(candidate: Float64Array, baseline: Float64Array): RankTest {
  let n1 = 0;
  let n2 = 0;
  for (let index = 0; index < candidate.length; index += 1) {
    n1 += candidate[index]!;
    n2 += baseline[index]!;
  }
  if (n1 === 0 || n2 === 0) return { test: 'Mann-Whitney U', u: null, z: null, pValue: null, probabilityGreater: null };
  const n = n1 + n2;
  let below = 0;
  let rankSum = 0;
  let ties = 0;
  for (let index = 0; index < candidate.length; index += 1) {
    const a = candidate[index]!;
    const t = a + baseline[index]!;
    if (t === 0) continue;
    rankSum += a * (below + (t + 1) / 2);
    ties += t * t * t - t;
    below += t;
  }
  const u = rankSum - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  const probabilityGreater = u / (n1 * n2);
  if (variance <= 0) return { test: 'Mann-Whitney U', u, z: 0, pValue: 1, probabilityGreater };
  const shifted = u - mean;
  const z = (Math.sign(shifted) * Math.max(0, Math.abs(shifted) - 0.5)) / Math.sqrt(variance);
  return { test: 'Mann-Whitney U', u, z, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))), probabilityGreater };
}
