import { decodeDurations, kthSmallest, nearestRank, sortDurations } from './sorted-durations.js';
import { LATENCY_BINS, PROBABILITY_BINS, binCounts, mannWhitneyU, twoProportionZTest, type ProportionTest, type RankTest } from './significance.js';
import { statsPlan, type Placeholder, type RawRow, type RollupRow, type StatsPlan } from './stats-sql.js';
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

interface Sample {
  inferences: number;
  errors: number;
  fallbacks: number;
  feedback: number;
  correct: number;
  readonly durations: Float64Array[];
  readonly scores: Float64Array[];
  readonly looseDurations: number[];
  readonly looseScores: number[];
}

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
    return statsPlan(stats, seqWatermark, placeholder, { types: TYPES, scores: true });
  };
  return [plan(query.candidate), plan(query.baseline)];
}

function emptySample(): Sample {
  return { inferences: 0, errors: 0, fallbacks: 0, feedback: 0, correct: 0, durations: [], scores: [], looseDurations: [], looseScores: [] };
}

const sum = (run: Float64Array) => {
  let total = 0;
  for (let index = 0; index < run.length; index += 1) total += run[index]!;
  return total;
};

/** Folds one version's rollup rows and raw rows (RAW_COLUMNS order) into counts and sorted runs. */
export function sampleOf(rollupRows: readonly RollupRow[], rawRows: readonly RawRow[]): Sample {
  const sample = emptySample();
  const count = (type: unknown, events: number) => {
    if (type === 'inference') sample.inferences += events;
    else if (type === 'error') sample.errors += events;
    else if (type === 'fallback') sample.fallbacks += events;
    else if (type === 'feedback') sample.feedback += events;
  };
  for (const row of rollupRows) {
    count(row.type, Number(row.event_count));
    if (row.type === 'inference' && row.durations !== null) sample.durations.push(decodeDurations(row.durations));
    if (row.scores !== null && row.scores !== undefined) {
      const scores = decodeDurations(row.scores);
      if (row.type === 'inference') sample.scores.push(scores);
      else if (row.type === 'feedback') sample.correct += sum(scores);
    }
  }
  for (const row of rawRows) {
    count(row[0], 1);
    const duration = row[7];
    const score = row[8];
    if (row[0] === 'inference') {
      if (duration !== null && duration !== undefined) sample.looseDurations.push(Number(duration));
      if (score !== null && score !== undefined) sample.looseScores.push(Number(score));
    } else if (row[0] === 'feedback' && score !== null && score !== undefined) {
      sample.correct += Number(score);
    }
  }
  if (sample.looseDurations.length > 0) sample.durations.push(sortDurations(sample.looseDurations));
  if (sample.looseScores.length > 0) sample.scores.push(sortDurations(sample.looseScores));
  return sample;
}

function percentileOf(runs: readonly Float64Array[], p: number): number | null {
  const samples = runs.reduce((total, run) => total + run.length, 0);
  return samples === 0 ? null : kthSmallest(runs, nearestRank(p, samples));
}

/** `scoreBins`: the scores' PROBABILITY_BINS counts (bin i is [i/1000, (i+1)/1000)), which the rank test needs too. */
function summarize(version: string, sample: Sample, scoreBins: ReturnType<typeof binCounts>): VersionSummary {
  const scored = sample.scores.reduce((total, run) => total + run.length, 0);
  const histogram = new Array<number>(10).fill(0);
  for (let bin = 0; bin < scoreBins.length; bin += 1) histogram[Math.min(9, Math.floor(bin / 100))]! += scoreBins[bin]!;
  const scoreSum = scoreBins.sum;
  const attempts = sample.inferences + sample.errors;
  return {
    version,
    inferences: sample.inferences,
    errors: sample.errors,
    fallbacks: sample.fallbacks,
    errorRate: attempts === 0 ? 0 : sample.errors / attempts,
    fallbackRate: sample.inferences === 0 ? 0 : sample.fallbacks / sample.inferences,
    p50: percentileOf(sample.durations, 50),
    p95: percentileOf(sample.durations, 95),
    confidence: {
      count: scored,
      mean: scored === 0 ? null : scoreSum / scored,
      p05: percentileOf(sample.scores, 5),
      p50: percentileOf(sample.scores, 50),
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

/** Compares two versions' samples; see DEFAULT_THRESHOLDS and the README for the tests. */
export function compareSamples(query: CompareQuery, candidateSample: Sample, baselineSample: Sample): CompareResult {
  const t = query.thresholds;
  const candidateScores = binCounts(candidateSample.scores, PROBABILITY_BINS);
  const baselineScores = binCounts(baselineSample.scores, PROBABILITY_BINS);
  const candidate = summarize(query.candidate, candidateSample, candidateScores);
  const baseline = summarize(query.baseline, baselineSample, baselineScores);
  const enough = candidate.inferences + candidate.errors >= t.minEvents && baseline.inferences + baseline.errors >= t.minEvents;

  const errorRate = rateCheck(candidate.errors, candidate.inferences + candidate.errors, baseline.errors, baseline.inferences + baseline.errors, t.maxErrorRateIncrease, t.alpha, enough);
  const fallbackRate = rateCheck(candidate.fallbacks, candidate.inferences, baseline.fallbacks, baseline.inferences, t.maxFallbackRateIncrease, t.alpha, enough);

  const latencyTest = mannWhitneyU(binCounts(candidateSample.durations, LATENCY_BINS), binCounts(baselineSample.durations, LATENCY_BINS));
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
