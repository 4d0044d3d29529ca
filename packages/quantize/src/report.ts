import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import type { Evaluation } from './evaluation.js';
import type { QuantizationSummary } from './quantize-model.js';

export interface QuantizationReport {
  readonly source: string;
  readonly output: string;
  readonly command?: string;
  readonly machine: { readonly cpu: string; readonly cores: number; readonly node: string };
  readonly quantization: QuantizationSummary;
  /** What the calibration samples are (static mode). */
  readonly calibrationSet?: string;
  /** What the evaluation samples are (a labelled test set, synthetic noise ...). */
  readonly evaluationSet?: string;
  readonly evaluation?: Evaluation;
}

export function createReport(fields: Omit<QuantizationReport, 'machine'>): QuantizationReport {
  return { ...fields, machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version } };
}

/** Writes `<base>.report.json` and `<base>.report.md`; returns both paths. */
export function writeReport(basePath: string, report: QuantizationReport): { json: string; markdown: string } {
  const json = `${basePath}.report.json`;
  const markdown = `${basePath}.report.md`;
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(markdown, renderMarkdown(report));
  return { json, markdown };
}

const percent = (value: number): string => `${(value * 100).toFixed(1)}%`;
const ms = (value: number): string => (value < 1 ? value.toFixed(3) : value.toFixed(2));

export function renderMarkdown(report: QuantizationReport): string {
  const q = report.quantization;
  const lines = [
    `# int8 report: ${report.output}`,
    '',
    `Source: \`${report.source}\`. Mode: **${q.mode}**. Weights: ${q.weights}; activations: ${q.activations}; opset ${q.opset}.`,
    ...(q.calibration
      ? [`Calibration: ${q.calibration.method} over ${q.calibration.batches} batch(es) of ${report.calibrationSet ?? 'given samples'}, ${q.calibration.tensors} activation tensors (ranges only, no labels).`]
      : []),
    ...(report.command ? ['', 'Reproduce:', '', '```sh', report.command, '```'] : []),
    '',
    '| measure | float32 | int8 | |',
    '| --- | ---: | ---: | --- |',
    `| size (bytes) | ${q.sizeBytes.float32} | ${q.sizeBytes.int8} | ratio ${q.sizeRatio.toFixed(3)}x |`,
  ];
  const evaluation = report.evaluation;
  if (evaluation) {
    if (evaluation.accuracy) {
      lines.push(`| top-1 accuracy | ${percent(evaluation.accuracy.float32)} | ${percent(evaluation.accuracy.int8)} | drop ${evaluation.accuracy.dropPoints.toFixed(2)} points |`);
    }
    for (const latency of evaluation.latency ?? []) {
      lines.push(`| p50 latency, ${latency.runtime}, ${latency.threads} thread(s), batch 1, ${latency.runs} runs (ms) | ${ms(latency.float32P50Ms)} | ${ms(latency.int8P50Ms)} | int8/float32 ${latency.ratio.toFixed(2)}x |`);
    }
    lines.push(
      '',
      `Evaluation set: ${report.evaluationSet ?? 'given samples'} (${evaluation.samples} samples).`,
      '',
      `- top-1 agreement int8 vs float32: **${percent(evaluation.top1Agreement)}**`,
      `- output |int8 - float32|: max ${evaluation.logitAbsDiff.max.toPrecision(3)}, mean ${evaluation.logitAbsDiff.mean.toPrecision(3)} (mean |float32 output| ${evaluation.logitAbsDiff.float32MeanAbs.toPrecision(3)})`,
      `- cosine similarity of int8 and float32 outputs per sample: mean ${evaluation.outputCosine.mean.toFixed(4)}, min ${evaluation.outputCosine.min.toFixed(4)}`,
    );
  }
  lines.push('', `Quantized nodes: ${q.quantizedNodes.length}. Float32 nodes: ${q.float32Nodes.length}.`);
  if (q.warnings.length > 0) lines.push('', 'Warnings:', '', ...q.warnings.map((warning) => `- ${warning}`));
  lines.push('', `Machine: ${report.machine.cpu}, ${report.machine.cores} cores, Node ${report.machine.node}.`, '');
  return lines.join('\n');
}
