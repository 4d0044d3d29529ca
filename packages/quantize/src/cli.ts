import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeInferError, isEdgeInferError } from '@edgeinfer/core';
import { evaluateQuantized, type LatencyRuntime } from './evaluation.js';
import { decodeModel, graphInputs } from './onnx-model.js';
import { quantizeModel, type QuantizationMode } from './quantize-model.js';
import { createReport, writeReport } from './report.js';
import { readLabels, readSamples, syntheticSamples, toFeeds, type ImagePreprocessing, type SampleSet } from './sample-data.js';

const USAGE = `Usage: edgeinfer-quantize <in.onnx> -o <out.onnx> [options]

  --mode static|dynamic        static: int8 weights + calibrated uint8 activations (QDQ, default);
                               dynamic: int8 weights only, activations stay float32 at run time
  --calibration <file|dir>     sample inputs: .bin/.raw/.u8 uint8 pixels in the input's layout, or .f32 float32
  --calibration-limit <n>      use at most n calibration samples (default 256)
  --calibration-method minmax|percentile   (default minmax)  --percentile <p> (default 99.99)
  --eval <file|dir>            evaluation samples (same formats); --labels <file> one uint8 class per sample
  --eval-limit <n>             use at most n evaluation samples
  --synthetic <n>              seeded uniform-noise images when no --calibration/--eval is given (default 32)
  --mean <a,b,c> --std <a,b,c> preprocessing (pixel/255 - mean) / std for uint8 samples (default 0 and 1)
  --layout NCHW|NHWC           layout of one sample (default NCHW)
  --latency-runs <n>           batch-1 runs per model for the p50 (default 100, 0 = skip)
  --latency-runtimes cpu,wasm  where to time (default both)
  --threads <n>                threads for the latency runs, the same for both models (default 1)
  --exclude <node,node>        node names to leave in float32
  --no-report                  do not write <out>.report.json/.md
`;

function numberList(value: string | undefined): number[] | undefined {
  return value === undefined ? undefined : value.split(',').map(Number);
}

/** Runs the CLI; returns the process exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        mode: { type: 'string', default: 'static' },
        calibration: { type: 'string' },
        'calibration-limit': { type: 'string', default: '256' },
        'calibration-method': { type: 'string', default: 'minmax' },
        percentile: { type: 'string' },
        eval: { type: 'string' },
        labels: { type: 'string' },
        'eval-limit': { type: 'string' },
        synthetic: { type: 'string', default: '32' },
        mean: { type: 'string' },
        std: { type: 'string' },
        layout: { type: 'string', default: 'NCHW' },
        'latency-runs': { type: 'string', default: '100' },
        'latency-runtimes': { type: 'string', default: 'cpu,wasm' },
        threads: { type: 'string', default: '1' },
        exclude: { type: 'string' },
        'no-report': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const input = positionals[0];
  const mode = values.mode as QuantizationMode;
  const calibrationMethod = values['calibration-method'];
  const layout = values.layout;
  if (!input || !values.output || (mode !== 'static' && mode !== 'dynamic') || (calibrationMethod !== 'minmax' && calibrationMethod !== 'percentile') || (layout !== 'NCHW' && layout !== 'NHWC')) {
    console.error(USAGE);
    return 2;
  }

  try {
    const bytes = new Uint8Array(readFileSync(input));
    const modelInputs = graphInputs(decodeModel(bytes));
    const first = modelInputs[0];
    const sampleDims = first?.dims.slice(1) ?? [];
    const preprocessing: ImagePreprocessing = {
      layout,
      ...(values.mean ? { mean: numberList(values.mean) } : {}),
      ...(values.std ? { std: numberList(values.std) } : {}),
    };
    const synthetic = Number(values.synthetic);
    const samplesFor = (path: string | undefined, limit: number, seed: number): { samples: SampleSet; description: string } => {
      if (!first || modelInputs.length !== 1 || sampleDims.some((dim) => typeof dim !== 'number')) {
        throw new EdgeInferError(
          'quantize/invalid-data',
          'The CLI feeds sample files to models with one input whose dims after the batch axis are fixed; use the library API (quantizeModel) for other models.',
          { details: { inputs: modelInputs.map((entry) => ({ name: entry.name, dims: [...entry.dims] })) } },
        );
      }
      const dims = sampleDims as number[];
      if (path) return { samples: readSamples(path, dims, preprocessing, limit), description: relative(process.cwd(), path) };
      return { samples: syntheticSamples(Math.min(limit, synthetic), dims, preprocessing, seed), description: `synthetic uniform-noise images (seed ${seed})` };
    };

    let calibrationNote: string | undefined;
    const calibration =
      mode === 'static' ? samplesFor(values.calibration, Number(values['calibration-limit']), 1) : undefined;
    if (calibration && !values.calibration) calibrationNote = `calibrated on ${calibration.samples.count} ${calibration.description}: pass --calibration with real inputs for a real model`;

    const { model, report: summary } = await quantizeModel(bytes, {
      mode,
      calibrationMethod,
      ...(values.percentile ? { percentile: Number(values.percentile) } : {}),
      ...(calibration ? { calibration: toFeeds(first?.name ?? '', calibration.samples, 16) } : {}),
      ...(values.exclude ? { excludeNodes: values.exclude.split(',') } : {}),
    });
    const quantization = calibrationNote ? { ...summary, warnings: [...summary.warnings, calibrationNote] } : summary;
    writeFileSync(values.output, model);
    for (const warning of quantization.warnings) console.warn(`warning: ${warning}`);
    console.log(`wrote ${values.output}: ${quantization.sizeBytes.int8} bytes, ${quantization.sizeRatio.toFixed(3)}x of float32`);

    if (values['no-report']) return 0;
    const evaluationSamples = samplesFor(values.eval, values['eval-limit'] ? Number(values['eval-limit']) : Infinity, 2);
    const evaluation = await evaluateQuantized(bytes, model, {
      inputName: first?.name ?? '',
      samples: evaluationSamples.samples,
      ...(values.labels ? { labels: readLabels(values.labels) } : {}),
      latencyRuns: Number(values['latency-runs']),
      latencyRuntimes: values['latency-runtimes'].split(',') as LatencyRuntime[],
      threads: Number(values.threads),
    });
    const report = createReport({
      source: relative(process.cwd(), input),
      output: relative(process.cwd(), values.output),
      command: `npx edgeinfer-quantize ${argv.join(' ')}`,
      quantization,
      ...(calibration ? { calibrationSet: `${calibration.samples.count} samples from ${calibration.description}` } : {}),
      evaluationSet: `${evaluationSamples.description}${values.labels ? ` with labels ${relative(process.cwd(), values.labels)}` : ''}`,
      evaluation,
    });
    const paths = writeReport(values.output.replace(/\.onnx$/, ''), report);
    console.log(`top-1 agreement ${(evaluation.top1Agreement * 100).toFixed(1)}%${evaluation.accuracy ? `, accuracy ${(evaluation.accuracy.float32 * 100).toFixed(1)}% -> ${(evaluation.accuracy.int8 * 100).toFixed(1)}%` : ''}`);
    for (const latency of evaluation.latency ?? []) console.log(`p50 ${latency.runtime}: float32 ${latency.float32P50Ms.toFixed(3)} ms, int8 ${latency.int8P50Ms.toFixed(3)} ms (${latency.ratio.toFixed(2)}x)`);
    console.log(`wrote ${paths.json} and ${paths.markdown}`);
    return 0;
  } catch (error) {
    if (isEdgeInferError(error)) {
      console.error(`error [${error.code}]: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
