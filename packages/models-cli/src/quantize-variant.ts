import { existsSync } from 'node:fs';
import type { Preprocessing } from '@edgeinfer/core';
import { runCli as runQuantizer } from '@edgeinfer/quantize';
import { invalidInput } from './manifest-file.js';

export interface QuantizeVariantOptions {
  readonly from: string;
  readonly to: string;
  readonly mode?: 'static' | 'dynamic';
  /** Calibration samples (a file or directory, as edgeinfer-quantize takes them); default: seeded synthetic images. */
  readonly calibration?: string;
  readonly preprocessing?: Preprocessing;
  /** Latency runs per model in the report (0 skips the timing). */
  readonly latencyRuns?: number;
}

/**
 * Runs @edgeinfer/quantize (the same code path as `npx edgeinfer-quantize`) and returns the report
 * it wrote beside the int8 model: `add --variant int8 --from fp32` records it in the manifest.
 */
export async function quantizeVariant(options: QuantizeVariantOptions): Promise<{ model: string; report: string }> {
  const pre = options.preprocessing;
  const args = [
    options.from,
    '-o',
    options.to,
    '--mode',
    options.mode ?? 'static',
    '--latency-runs',
    String(options.latencyRuns ?? 20),
    '--latency-runtimes',
    'cpu',
    ...(options.calibration ? ['--calibration', options.calibration] : ['--synthetic', '32']),
    ...(pre ? ['--layout', pre.layout, '--mean', pre.mean.join(','), '--std', pre.std.join(',')] : []),
  ];
  const code = await runQuantizer(args);
  const report = `${options.to.replace(/\.onnx$/, '')}.report.json`;
  if (code !== 0 || !existsSync(options.to) || !existsSync(report)) {
    throw invalidInput(`The quantizer failed on ${options.from} (exit code ${code}); see its message above. Command: edgeinfer-quantize ${args.join(' ')}`, { from: options.from, code });
  }
  return { model: options.to, report };
}
