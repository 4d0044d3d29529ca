import { addBins, binSlice, binsOfRun, decodeBins, type BinRun } from './rollup-bins.js';
import { decodeDurations, nearestRank, sortDurations } from './sorted-durations.js';
import { LATENCY_BINS, PROBABILITY_BINS, mannWhitneyU, twoProportionZTest, type Binning, type ProportionTest, type RankTest } from './significance.js';
import { statsPlan, type Placeholder, type RawRow, type StatsPlan } from './stats-sql.js';
import type { StatsQuery } from './storage.js';

/**
 * GET /v1/compare: a canary version against a baseline (usually stable) of one model, from the
 * same minute rollups as /v1/stats (counts, sorted latency runs, sorted top-1 probability runs).
 */

export interface CompareThresholds {
  /** Worse when the candidate's error rate is higher by more than this (absolute, 0.01 = 1 point). */
  readonly maxErrorRateIncrease: number;
  readonly maxFallbackRateIncrease: number;
  /** Worse when the candidate's p95 latency is higher by more than this many percent. */
  readonly maxP95IncreasePct: number;
  /** Worse when the candidate's mean top-1 probability is lower by more than this (absolute). */
  readonly maxConfidenceDrop: number;
  /** Worse when the candidate's feedback accuracy is lower by more than this (absolute). */
  readonly maxAccuracyDrop: number;
  /** Inferences + errors each side needs before any verdict but "not enough data". */
  readonly minEvents: number;
  /** Feedback answers each side needs before accuracy counts. */
  readonly minFeedback: number;
  /** Significance level of each test (two-sided). */
  readonly alpha: number;
}

export const DEFAULT_THRESHOLDS: CompareThresholds = {
  maxErrorRateIncrease: 0.01,
  maxFallbackRateIncrease: 0.05,
  maxP95IncreasePct: 20,
  maxConfidenceDrop: 0.05,
  maxAccuracyDrop: 0.05,
  minEvents: 200,
  minFeedback: 30,
  alpha: 0.01,
};

export interface CompareQuery {
  readonly from: number;
  readonly to: number;
  readonly model: string;
  readonly candidate: string;
  readonly baseline: string;
  readonly app?: string;
  readonly variant?: string;
  readonly backend?: string;
  readonly thresholds: CompareThresholds;
}

export type Outcome = 'better' | 'same' | 'worse' | 'not enough data';

export interface VersionSummary {
  readonly version: string;
  readonly inferences: number;
  readonly errors: number;
  readonly fallbacks: number;
  readonly errorRate: number;
  readonly fallbackRate: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly confidence: {
    readonly count: number;
    readonly mean: number | null;
    readonly p05: number | null;
    readonly p50: number | null;
    /** Share of scored inferences per tenth of probability, [0, 0.1) ... [0.9, 1]. */
    readonly histogram: readonly number[];
  };
  readonly feedback: { readonly count: number; readonly correct: number; readonly accuracy: number | null };
}

export interface Check<T extends ProportionTest | RankTest> {
  readonly candidate: number | null;
  readonly baseline: number | null;
  /** candidate - baseline (for p95: percent of baseline). */
  readonly difference: number | null;
  readonly threshold: number;
  readonly significance: T;
  readonly significant: boolean;
  readonly outcome: Outcome;
}

export interface CompareResult {
  readonly model: string;
  readonly from: number;
  readonly to: number;
  readonly candidate: VersionSummary;
  readonly baseline: VersionSummary;
  readonly checks: {
    readonly errorRate: Check<ProportionTest>;
    readonly fallbackRate: Check<ProportionTest>;
    readonly p95LatencyPct: Check<RankTest>;
    readonly confidence: Check<RankTest>;
    readonly accuracy: Check<ProportionTest>;
  };
  readonly verdict: Outcome;
  readonly reasons: readonly string[];
  readonly thresholds: CompareThresholds;
}

/** A sorted run's part of a sample: its bin counts, and the run itself when it is in memory, or where it is stored. */
interface Part {
  readonly bins: BinRun;
  readonly run?: Float64Array;
  readonly row?: RowRef;
}

/** A rollup row's key (its primary key), to read slices of its runs. */
export interface RowRef {
  readonly minute: unknown;
  readonly type: string;
  readonly group_key: string;
  readonly segment: unknown;
}

export interface Sample {
  inferences: number;
  errors: number;
  fallbacks: number;
  feedback: number;
  correct: number;
  scoreSum: number;
  readonly durations: Part[];
  readonly scores: Part[];
}

/** A rollup row as compare reads it (COMPARE_ROLLUP_COLUMNS). */
export interface CompareRollupRow extends RowRef {
  readonly event_count: number | string;
  readonly duration_bins: Uint8Array | null;
  readonly score_bins: Uint8Array | null;
  readonly score_sum: number | null;
  /** Only for rows without bins (rolled up before migration 6): the runs, binned here. */
  readonly durations: Uint8Array | null;
  readonly scores: Uint8Array | null;
}

/** Runs are read only where a row has no bins; bins only where compare uses them. */
export const COMPARE_ROLLUP_COLUMNS = [
  'type',
  'minute',
  'group_key',
  'segment',
  'event_count',
  "CASE WHEN type = 'inference' THEN duration_bins END AS duration_bins",
  "CASE WHEN type = 'inference' THEN score_bins END AS score_bins",
  'score_sum',
  "CASE WHEN type = 'inference' AND duration_bins IS NULL THEN durations END AS durations",
  "CASE WHEN type IN ('inference', 'feedback') AND score_sum IS NULL THEN scores END AS scores",
].join(', ');

const TYPES = ['inference', 'error', 'fallback', 'feedback'] as const;

/** One plan per version, each the rows /v1/stats would read for that version (plus scores and feedback). */
export function comparePlans(query: CompareQuery, seqWatermark: number, placeholder: Placeholder): [StatsPlan, StatsPlan] {
  const plan = (version: string) => {
    const stats: StatsQuery = {
      from: query.from,
      to: query.to,
      model: query.model,
      version,
      ...(query.app === undefined ? {} : { app: query.app }),
      ...(query.variant === undefined ? {} : { variant: query.variant }),
      ...(query.backend === undefined ? {} : { backend: query.backend }),
    };
    return statsPlan(stats, seqWatermark, placeholder, { types: TYPES, rollupColumns: COMPARE_ROLLUP_COLUMNS });
  };
  return [plan(query.candidate), plan(query.baseline)];
}

const sum = (run: Float64Array) => {
  let total = 0;
  for (let index = 0; index < run.length; index += 1) total += run[index]!;
  return total;
};

const inMemory = (run: Float64Array, binning: Binning): Part => ({ bins: binsOfRun(run, binning), run });

/** Folds one version's rollup rows and raw rows (RAW_COLUMNS order) into counts and bin counts of its runs. */
export function sampleOf(rollupRows: readonly CompareRollupRow[], rawRows: readonly RawRow[]): Sample {
  const sample: Sample = { inferences: 0, errors: 0, fallbacks: 0, feedback: 0, correct: 0, scoreSum: 0, durations: [], scores: [] };
  const count = (type: unknown, events: number) => {
    if (type === 'inference') sample.inferences += events;
    else if (type === 'error') sample.errors += events;
    else if (type === 'fallback') sample.fallbacks += events;
    else if (type === 'feedback') sample.feedback += events;
  };
  for (const row of rollupRows) {
    count(row.type, Number(row.event_count));
    const ref: RowRef = { minute: row.minute, type: row.type, group_key: row.group_key, segment: row.segment };
    if (row.type === 'inference') {
      if (row.duration_bins !== null) sample.durations.push({ bins: decodeBins(row.duration_bins), row: ref });
      else if (row.durations !== null) sample.durations.push(inMemory(decodeDurations(row.durations), LATENCY_BINS));
    }
    if (row.type !== 'inference' && row.type !== 'feedback') continue;
    let scoreSum = row.score_sum === null ? null : Number(row.score_sum);
    if (row.type === 'inference' && row.score_bins !== null) sample.scores.push({ bins: decodeBins(row.score_bins), row: ref });
    else if (row.scores !== null) {
      const scores = decodeDurations(row.scores);
      scoreSum = sum(scores);
      if (row.type === 'inference') sample.scores.push(inMemory(scores, PROBABILITY_BINS));
    }
    if (scoreSum === null) continue;
    if (row.type === 'inference') sample.scoreSum += scoreSum;
    else sample.correct += scoreSum;
  }
  const looseDurations: number[] = [];
  const looseScores: number[] = [];
  for (const row of rawRows) {
    count(row[0], 1);
    const duration = row[7];
    const score = row[8];
    if (row[0] === 'inference') {
      if (duration !== null && duration !== undefined) looseDurations.push(Number(duration));
      if (score !== null && score !== undefined) looseScores.push(Number(score));
    } else if (row[0] === 'feedback' && score !== null && score !== undefined) {
      sample.correct += Number(score);
    }
  }
  if (looseDurations.length > 0) sample.durations.push(inMemory(sortDurations(looseDurations), LATENCY_BINS));
  if (looseScores.length > 0) {
    const scores = sortDurations(looseScores);
    sample.scoreSum += sum(scores);
    sample.scores.push(inMemory(scores, PROBABILITY_BINS));
  }
  return sample;
}

/** A slice of a stored run: `count` values from index `offset` of the row's durations (column 0) or scores (1). */
export interface SliceRequest {
  readonly row: RowRef;
  readonly column: 0 | 1;
  readonly offset: number;
  readonly count: number;
}

/** The bin the nearest-rank p-th percentile falls in, and its rank among that bin's values. */
interface Target {
  readonly bin: number;
  readonly rank: number;
  readonly parts: readonly { readonly part: Part; readonly offset: number; readonly count: number }[];
}

/** Dense per-bin counts of a sample's runs and their number. */
function merged(parts: readonly Part[], binning: Binning): { counts: Float64Array; total: number } {
  const counts = new Float64Array(binning.bins);
  let total = 0;
  for (const part of parts) total += addBins(counts, part.bins);
  return { counts, total };
}

function targetOf(parts: readonly Part[], counts: Float64Array, total: number, p: number): Target | null {
  if (total === 0) return null;
  const k = nearestRank(p, total);
  let below = 0;
  let bin = 0;
  while (below + counts[bin]! < k) below += counts[bin++]!;
  const inBin: { part: Part; offset: number; count: number }[] = [];
  for (const part of parts) {
    const slice = binSlice(part.bins, bin);
    if (slice.count > 0) inBin.push({ part, ...slice });
  }
  return { bin, rank: k - below, parts: inBin };
}

/**
 * A comparison in two reads: the rows' counts and bins (sampleOf), then only the values of the bins
 * the percentiles fall in (`slices`, read by the storage in the same snapshot), then `finish`.
 * The answer is the one all values would give: the rank tests use the same bin counts, and the k-th
 * smallest of all values is the (k - values in lower bins)-th smallest of its bin's values.
 */
export function prepareCompare(query: CompareQuery, candidateSample: Sample, baselineSample: Sample): { readonly slices: readonly SliceRequest[]; finish(slices: readonly Uint8Array[]): CompareResult } {
  const sides = [candidateSample, baselineSample].map((sample) => {
    const latency = merged(sample.durations, LATENCY_BINS);
    const scores = merged(sample.scores, PROBABILITY_BINS);
    return {
      sample,
      latency,
      scores,
      targets: {
        p50: targetOf(sample.durations, latency.counts, latency.total, 50),
        p95: targetOf(sample.durations, latency.counts, latency.total, 95),
        scoreP05: targetOf(sample.scores, scores.counts, scores.total, 5),
        scoreP50: targetOf(sample.scores, scores.counts, scores.total, 50),
      },
    };
  });
  const slices: SliceRequest[] = [];
  const wanted = new Map<Target, number[]>();
  for (const side of sides) {
    for (const [name, target] of Object.entries(side.targets)) {
      if (target === null) continue;
      wanted.set(
        target,
        target.parts.map(({ part, offset, count }) => (part.row === undefined ? -1 : slices.push({ row: part.row, column: name.startsWith('score') ? 1 : 0, offset, count }) - 1)),
      );
    }
  }
  return {
    slices,
    finish(fetched) {
      const valueOf = (target: Target | null): number | null => {
        if (target === null) return null;
        const indexes = wanted.get(target)!;
        const values: number[] = [];
        target.parts.forEach(({ part, offset, count }, index) => {
          const run = part.run === undefined ? decodeDurations(fetched[indexes[index]!]!) : part.run.subarray(offset, offset + count);
          if (run.length !== count) throw new Error(`A rollup slice has ${run.length} values, its bins say ${count}.`);
          for (let at = 0; at < run.length; at += 1) values.push(run[at]!);
        });
        return values.sort((a, b) => a - b)[target.rank - 1]!;
      };
      const [candidate, baseline] = sides.map((side, index) =>
        summarize(index === 0 ? query.candidate : query.baseline, side.sample, side.scores.counts, side.scores.total, {
          p50: valueOf(side.targets.p50),
          p95: valueOf(side.targets.p95),
          scoreP05: valueOf(side.targets.scoreP05),
          scoreP50: valueOf(side.targets.scoreP50),
        }),
      );
      return judgeVersions(query, candidate!, baseline!, sides[0]!.latency.counts, sides[1]!.latency.counts, sides[0]!.scores.counts, sides[1]!.scores.counts);
    },
  };
}

/** `scoreBins`: the scores' PROBABILITY_BINS counts (bin i is [i/1000, (i+1)/1000)), which the rank test needs too. */
function summarize(version: string, sample: Sample, scoreBins: Float64Array, scored: number, percentiles: { p50: number | null; p95: number | null; scoreP05: number | null; scoreP50: number | null }): VersionSummary {
  const histogram = new Array<number>(10).fill(0);
  for (let bin = 0; bin < scoreBins.length; bin += 1) histogram[Math.min(9, Math.floor(bin / 100))]! += scoreBins[bin]!;
  const attempts = sample.inferences + sample.errors;
  return {
    version,
    inferences: sample.inferences,
    errors: sample.errors,
    fallbacks: sample.fallbacks,
    errorRate: attempts === 0 ? 0 : sample.errors / attempts,
    fallbackRate: sample.inferences === 0 ? 0 : sample.fallbacks / sample.inferences,
    p50: percentiles.p50,
    p95: percentiles.p95,
    confidence: {
      count: scored,
      mean: scored === 0 ? null : sample.scoreSum / scored,
      p05: percentiles.scoreP05,
      p50: percentiles.scoreP50,
      histogram: histogram.map((value) => (scored === 0 ? 0 : value / scored)),
    },
    feedback: { count: sample.feedback, correct: sample.correct, accuracy: sample.feedback === 0 ? null : sample.correct / sample.feedback },
  };
}

/**
 * An outcome from a difference, its margin and a test: worse (or better) only when the difference is
 * past the margin in that direction and the test finds it significant; "higher is worse" unless `higherIsBetter`.
 */
function judge(difference: number | null, margin: number, significant: boolean, enough: boolean, higherIsBetter = false): Outcome {
  if (!enough || difference === null) return 'not enough data';
  const harm = higherIsBetter ? -difference : difference;
  if (significant && harm > margin) return 'worse';
  if (significant && -harm > margin) return 'better';
  return 'same';
}

function rateCheck(candidateHits: number, candidateTotal: number, baselineHits: number, baselineTotal: number, threshold: number, alpha: number, enough: boolean, higherIsBetter = false): Check<ProportionTest> {
  const candidate = candidateTotal === 0 ? null : candidateHits / candidateTotal;
  const baseline = baselineTotal === 0 ? null : baselineHits / baselineTotal;
  const significance = twoProportionZTest(Math.min(candidateHits, candidateTotal), candidateTotal, Math.min(baselineHits, baselineTotal), baselineTotal);
  const significant = significance.valid && significance.pValue !== null && significance.pValue < alpha;
  const difference = candidate === null || baseline === null ? null : candidate - baseline;
  return { candidate, baseline, difference, threshold, significance, significant, outcome: judge(difference, threshold, significant, enough, higherIsBetter) };
}

/** Compares two versions' summaries and bin counts; see DEFAULT_THRESHOLDS and the README for the tests. */
function judgeVersions(query: CompareQuery, candidate: VersionSummary, baseline: VersionSummary, candidateLatency: Float64Array, baselineLatency: Float64Array, candidateScores: Float64Array, baselineScores: Float64Array): CompareResult {
  const t = query.thresholds;
  const enough = candidate.inferences + candidate.errors >= t.minEvents && baseline.inferences + baseline.errors >= t.minEvents;

  const errorRate = rateCheck(candidate.errors, candidate.inferences + candidate.errors, baseline.errors, baseline.inferences + baseline.errors, t.maxErrorRateIncrease, t.alpha, enough);
  const fallbackRate = rateCheck(candidate.fallbacks, candidate.inferences, baseline.fallbacks, baseline.inferences, t.maxFallbackRateIncrease, t.alpha, enough);

  const latencyTest = mannWhitneyU(candidateLatency, baselineLatency);
  const p95Pct = candidate.p95 === null || baseline.p95 === null || baseline.p95 === 0 ? null : ((candidate.p95 - baseline.p95) / baseline.p95) * 100;
  const latencySignificant = latencyTest.pValue !== null && latencyTest.pValue < t.alpha && Math.sign(latencyTest.z ?? 0) === Math.sign(p95Pct ?? 0);
  const p95LatencyPct: Check<RankTest> = {
    candidate: candidate.p95,
    baseline: baseline.p95,
    difference: p95Pct,
    threshold: t.maxP95IncreasePct,
    significance: latencyTest,
    significant: latencySignificant,
    outcome: judge(p95Pct, t.maxP95IncreasePct, latencySignificant, enough),
  };

  const scoredEnough = enough && candidate.confidence.count >= t.minEvents && baseline.confidence.count >= t.minEvents;
  const confidenceTest = mannWhitneyU(candidateScores, baselineScores);
  const confidenceDifference = candidate.confidence.mean === null || baseline.confidence.mean === null ? null : candidate.confidence.mean - baseline.confidence.mean;
  const confidenceSignificant = confidenceTest.pValue !== null && confidenceTest.pValue < t.alpha && Math.sign(confidenceTest.z ?? 0) === Math.sign(confidenceDifference ?? 0);
  const confidence: Check<RankTest> = {
    candidate: candidate.confidence.mean,
    baseline: baseline.confidence.mean,
    difference: confidenceDifference,
    threshold: t.maxConfidenceDrop,
    significance: confidenceTest,
    significant: confidenceSignificant,
    // No scores on either side (not a classifier, or an old client): this check does not count.
    outcome: candidate.confidence.count === 0 && baseline.confidence.count === 0 ? 'not enough data' : judge(confidenceDifference, t.maxConfidenceDrop, confidenceSignificant, scoredEnough, true),
  };

  const feedbackEnough = candidate.feedback.count >= t.minFeedback && baseline.feedback.count >= t.minFeedback;
  const accuracy = rateCheck(candidate.feedback.correct, candidate.feedback.count, baseline.feedback.correct, baseline.feedback.count, t.maxAccuracyDrop, t.alpha, feedbackEnough, true);

  const checks = { errorRate, fallbackRate, p95LatencyPct, confidence, accuracy };
  const reasons: string[] = [];
  const describe: Record<keyof typeof checks, (check: Check<ProportionTest> | Check<RankTest>) => string> = {
    errorRate: (c) => `error rate ${pct(c.candidate)} vs ${pct(c.baseline)} (margin ${pct(c.threshold)}, p=${p(c.significance.pValue)})`,
    fallbackRate: (c) => `fallback rate ${pct(c.candidate)} vs ${pct(c.baseline)} (margin ${pct(c.threshold)}, p=${p(c.significance.pValue)})`,
    p95LatencyPct: (c) => `p95 latency ${ms(candidate.p95)} vs ${ms(baseline.p95)} (${signed(c.difference)} %, margin ${c.threshold} %, p=${p(c.significance.pValue)})`,
    confidence: (c) => `mean top-1 probability ${num(c.candidate)} vs ${num(c.baseline)} (margin ${c.threshold}, p=${p(c.significance.pValue)})`,
    accuracy: (c) => `feedback accuracy ${pct(c.candidate)} vs ${pct(c.baseline)} (margin ${pct(c.threshold)}, p=${p(c.significance.pValue)})`,
  };
  let verdict: Outcome;
  if (!enough) {
    verdict = 'not enough data';
    reasons.push(`needs ${t.minEvents} inferences + errors per version; candidate has ${candidate.inferences + candidate.errors}, baseline ${baseline.inferences + baseline.errors}`);
  } else {
    const worse = (Object.keys(checks) as (keyof typeof checks)[]).filter((key) => checks[key].outcome === 'worse');
    const better = (Object.keys(checks) as (keyof typeof checks)[]).filter((key) => checks[key].outcome === 'better');
    verdict = worse.length > 0 ? 'worse' : better.length > 0 ? 'better' : 'same';
    for (const key of worse.length > 0 ? worse : better) reasons.push(`${worse.length > 0 ? 'worse' : 'better'}: ${describe[key](checks[key])}`);
  }
  return { model: query.model, from: query.from, to: query.to, candidate, baseline, checks, verdict, reasons, thresholds: t };
}

const pct = (value: number | null) => (value === null ? 'n/a' : `${(value * 100).toFixed(2)} %`);
const p = (value: number | null) => (value === null ? 'n/a' : value < 1e-4 ? value.toExponential(1) : value.toFixed(4));
const ms = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(2)} ms`);
const num = (value: number | null) => (value === null ? 'n/a' : value.toFixed(3));
const signed = (value: number | null) => (value === null ? 'n/a' : `${value >= 0 ? '+' : ''}${value.toFixed(1)}`);
