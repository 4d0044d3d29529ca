import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, prepareCompare, sampleOf, type CompareRollupRow, type SliceRequest } from '../src/compare.js';
import { binSlice, binsOfRun, decodeBins, encodeBins } from '../src/rollup-bins.js';
import { LATENCY_BINS, PROBABILITY_BINS, binOf, mannWhitneyU, type Binning } from '../src/significance.js';

/** The reference: every value binned on its own by binary search (no edge walk), summed over the runs. */
function binCounts(runs: readonly Float64Array[], binning: Binning): Float64Array {
  const counts = new Float64Array(binning.bins);
  for (const run of runs) for (const value of run) counts[binOf(value, binning)]! += 1;
  return counts;
}
import { encodeDurations, mergeSorted, nearestRank, sortDurations } from '../src/sorted-durations.js';

function seeded(seed: number) {
  let state = seed;
  return () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

const dense = (run: Float64Array, binning: typeof LATENCY_BINS) => {
  const counts = new Float64Array(binning.bins);
  const bins = decodeBins(encodeBins(binsOfRun(run, binning)));
  bins.counts.forEach((count, index) => (counts[bins.first + index]! += count));
  return counts;
};

describe('rollup bins', () => {
  it('count a sorted run per bin exactly as binning each value does, through a blob, also unaligned', () => {
    const random = seeded(11);
    for (let trial = 0; trial < 80; trial += 1) {
      // Values on bin edges, below the first edge and past the last one too.
      const pool = [0, 0.001, 0.0005, LATENCY_BINS.edges[17]!, LATENCY_BINS.edges[5998]!, 1e9];
      const run = sortDurations(Array.from({ length: Math.floor(random() * 80) }, () => (random() < 0.2 ? pool[Math.floor(random() * pool.length)]! : Math.round(random() * random() * 40_000) / 1000)));
      expect([...dense(run, LATENCY_BINS)]).toEqual([...binCounts([run], LATENCY_BINS)]);
      const scores = sortDurations(Array.from({ length: Math.floor(random() * 80) }, () => (random() < 0.1 ? 1 : Math.round(random() * 10_000) / 10_000)));
      expect([...dense(scores, PROBABILITY_BINS)]).toEqual([...binCounts([scores], PROBABILITY_BINS)]);
      const unaligned = Buffer.concat([Buffer.from([7]), encodeBins(binsOfRun(scores, PROBABILITY_BINS))]).subarray(1);
      expect(decodeBins(unaligned).first).toBe(binsOfRun(scores, PROBABILITY_BINS).first);
      expect([...decodeBins(unaligned).counts]).toEqual([...binsOfRun(scores, PROBABILITY_BINS).counts]);
    }
  });

  it('keep counts over 65535 in one bin (4 bytes a count) and say where a bin sits in the run', () => {
    const run = sortDurations([...Array.from({ length: 70_000 }, () => 5), 6, 6, 7]);
    const bins = decodeBins(encodeBins(binsOfRun(run, LATENCY_BINS)));
    expect(bins.counts).toBeInstanceOf(Uint32Array);
    expect(decodeBins(encodeBins(binsOfRun(sortDurations([...Array.from({ length: 300 }, () => 5), 6]), LATENCY_BINS))).counts).toBeInstanceOf(Uint16Array);
    expect(decodeBins(encodeBins(binsOfRun(sortDurations([5, 5, 6]), LATENCY_BINS))).counts).toBeInstanceOf(Uint8Array);
    const six = binSlice(bins, binsOfRun(Float64Array.of(6), LATENCY_BINS).first);
    expect(six).toEqual({ offset: 70_000, count: 2 });
    expect(binSlice(bins, 0)).toEqual({ offset: 0, count: 0 });
    expect(() => decodeBins(Buffer.alloc(9))).toThrow(/not valid/);
  });

  it('give compare the same percentiles and rank tests as all values, reading only the percentile bins', () => {
    const random = seeded(3);
    for (let trial = 0; trial < 40; trial += 1) {
      const stored = new Map<string, { durations: Float64Array; scores: Float64Array }>();
      const side = (shift: number) => {
        const rows: CompareRollupRow[] = [];
        const all = { durations: [] as Float64Array[], scores: [] as Float64Array[] };
        for (let minute = 0; minute < 1 + Math.floor(random() * 8); minute += 1) {
          // Few distinct values in some trials, so a percentile's bin holds ties from many rows.
          const coarse = random() < 0.3;
          const durations = sortDurations(Array.from({ length: 1 + Math.floor(random() * 50) }, () => (coarse ? 1 + Math.floor(random() * 3) : shift + Math.round(random() * 30_000) / 1000)));
          const scores = sortDurations(Array.from({ length: durations.length }, () => (coarse ? 0.5 : Math.round(random() * 10_000) / 10_000)));
          const key = `${shift}/${minute}`;
          stored.set(key, { durations, scores });
          all.durations.push(durations);
          all.scores.push(scores);
          // Some rows without bins (rolled up before migration 6): binned from their runs.
          const old = random() < 0.3;
          rows.push({
            type: 'inference',
            minute,
            group_key: key,
            segment: 0,
            event_count: durations.length,
            duration_bins: old ? null : encodeBins(binsOfRun(durations, LATENCY_BINS)),
            score_bins: old ? null : encodeBins(binsOfRun(scores, PROBABILITY_BINS)),
            score_sum: old ? null : scores.reduce((total, value) => total + value, 0),
            durations: old ? encodeDurations(durations) : null,
            scores: old ? encodeDurations(scores) : null,
          });
        }
        const loose = Array.from({ length: Math.floor(random() * 5) }, () => ['inference', 'shop', 'm', 'v', null, null, 0, shift + random() * 20, random()] as const);
        all.durations.push(sortDurations(loose.map((row) => row[7])));
        all.scores.push(sortDurations(loose.map((row) => row[8])));
        return { sample: sampleOf(rows, loose), durations: mergeSorted(all.durations), scores: mergeSorted(all.scores), runs: all };
      };
      const candidate = side(random() * 5);
      const baseline = side(0);
      const query = { from: 0, to: 1, model: 'm', candidate: 'c', baseline: 'b', thresholds: DEFAULT_THRESHOLDS };
      const prepared = prepareCompare(query, candidate.sample, baseline.sample);
      const read = (slice: SliceRequest) => {
        const run = stored.get(slice.row.group_key)![slice.column === 0 ? 'durations' : 'scores'];
        return encodeDurations(run.slice(slice.offset, slice.offset + slice.count));
      };
      const result = prepared.finish(prepared.slices.map(read));
      const rank = (values: Float64Array, p: number) => values[nearestRank(p, values.length) - 1];
      for (const [summary, truth] of [[result.candidate, candidate], [result.baseline, baseline]] as const) {
        expect(summary.p50).toBe(rank(truth.durations, 50));
        expect(summary.p95).toBe(rank(truth.durations, 95));
        expect(summary.confidence.p05).toBe(rank(truth.scores, 5));
        expect(summary.confidence.p50).toBe(rank(truth.scores, 50));
        expect(summary.confidence.count).toBe(truth.scores.length);
        expect(summary.confidence.mean).toBeCloseTo(truth.scores.reduce((total, value) => total + value, 0) / truth.scores.length, 9);
      }
      expect(result.checks.p95LatencyPct.significance).toEqual(mannWhitneyU(binCounts(candidate.runs.durations, LATENCY_BINS), binCounts(baseline.runs.durations, LATENCY_BINS)));
      expect(result.checks.confidence.significance).toEqual(mannWhitneyU(binCounts(candidate.runs.scores, PROBABILITY_BINS), binCounts(baseline.runs.scores, PROBABILITY_BINS)));
      // Only stored rows' slices are read, never more values than the percentile bins hold.
      const values = prepared.slices.reduce((total, slice) => total + slice.count, 0);
      expect(values).toBeLessThanOrEqual(candidate.durations.length + baseline.durations.length + candidate.scores.length + baseline.scores.length);
    }
  });
});
