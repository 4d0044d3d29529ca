import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isEdgeInferError, type Preprocessing } from '@edgeinfer/core';
import { addVariant } from './add-variant.js';
import { initManifest } from './init-manifest.js';
import { listModels, renderListing } from './list-models.js';
import { invalidInput } from './manifest-file.js';
import { promote, revoke, rollback, setCanary } from './rollout-commands.js';
import { validateManifest } from './validate-manifest.js';

const USAGE = `Usage: edgeinfer-models <command> [options]     (--manifest <file>, default ./manifest.json)

  init [--schema <url|path>] [--force]          a new, empty manifest (its $schema points at the JSON Schema)
  add <model> <version> <files...>               add a variant: format, dtype, inputs/outputs, sizes, SHA-256
                                                 read from the files; reference probe computed (onnxruntime-node,
                                                 TF.js cpu). A new model's first version is its stable one.
      --variant <name>                           default from format/dtype: fp32, int8, fp16, tfjs, tfjs-uint8
      --from <variant> [--mode static|dynamic] [--calibration <file|dir>] [--latency-runs <n>]
                                                 quantize that ONNX variant with @edgeinfer/quantize and record
                                                 its report (files: the int8 file to write, optional)
      --report <file>                            with --from: record a quantization already run
      --labels <a,b,c | @file>                   class names (a .json array or one per line)
      --preprocessing <json | @file>             e.g. '{"width":28,"height":28,"channels":1,"layout":"NCHW","mean":[0.286],"std":[0.353]}'
      --mean <a,b,c> --std <a,b,c> [--invert]    or just the normalisation (size and layout from the input shape)
      --input-names <a,b> --output-names <a,b>   publish the I/O under these names (TF.js names are often input_1)
      --task <task> --notes <text> --no-probe --tolerance <absolute,relative>
  ls [model] [--json]                            versions, their status and variants
  validate [--json]                              schema, files exist, sizes and SHA-256 match, ONNX I/O as declared
  canary <model> <version> <percent>             that share of devices (stable hash of install id) runs it
  promote <model> <version> [--force]            stable switches in one write; the previous stable stays listed
  revoke <model> <version>                       no device runs it; a revoked stable goes back to the previous one
  rollback <model>                               stable goes back to the previous stable version

Every change is checked and written atomically (temp file + rename); a refused change writes nothing
and exits 1. --force skips only the check that every backend of the stable version keeps a variant.
`;

function readListOrFile(value: string): string[] {
  if (!value.startsWith('@')) return value.split(',').map((label) => label.trim()).filter(Boolean);
  const text = readFileSync(value.slice(1), 'utf8');
  if (value.endsWith('.json')) return (JSON.parse(text) as unknown[]).map(String);
  return text.split(/\r?\n/).map((line) => line.trim()).filter(Boolean);
}

function numbers(value: string, flag: string): number[] {
  const list = value.split(',').map(Number);
  if (list.some((entry) => !Number.isFinite(entry))) throw invalidInput(`${flag} takes numbers separated by commas; got ${JSON.stringify(value)}.`);
  return list;
}

function preprocessingFrom(values: Record<string, string | boolean | undefined>): Partial<Preprocessing> | undefined {
  if (typeof values.preprocessing === 'string') {
    const text = values.preprocessing.startsWith('@') ? readFileSync(values.preprocessing.slice(1), 'utf8') : values.preprocessing;
    try {
      return JSON.parse(text) as Preprocessing;
    } catch (cause) {
      throw invalidInput(`--preprocessing is not JSON: ${(cause as Error).message}.`, { cause });
    }
  }
  if (typeof values.mean === 'string' || typeof values.std === 'string' || values.invert) {
    return {
      ...(typeof values.mean === 'string' ? { mean: numbers(values.mean, '--mean') } : {}),
      ...(typeof values.std === 'string' ? { std: numbers(values.std, '--std') } : {}),
      ...(values.invert ? { invert: true } : {}),
    };
  }
  return undefined;
}

const OPTIONS = {
  manifest: { type: 'string', short: 'm', default: 'manifest.json' },
  schema: { type: 'string' },
  force: { type: 'boolean', default: false },
  variant: { type: 'string' },
  from: { type: 'string' },
  mode: { type: 'string' },
  calibration: { type: 'string' },
  report: { type: 'string' },
  'latency-runs': { type: 'string' },
  labels: { type: 'string' },
  preprocessing: { type: 'string' },
  mean: { type: 'string' },
  std: { type: 'string' },
  invert: { type: 'boolean', default: false },
  task: { type: 'string' },
  notes: { type: 'string' },
  'no-probe': { type: 'boolean', default: false },
  tolerance: { type: 'string' },
  'input-names': { type: 'string' },
  'output-names': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const consoleIo: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

/** Runs the CLI; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo = consoleIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], allowPositionals: true, options: OPTIONS });
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...args] = positionals;
  if (values.help || !command) {
    (values.help ? io.out : io.err)(USAGE);
    return values.help ? 0 : 2;
  }
  const manifest = values.manifest;
  const usage = (line: string) => {
    io.err(`${line}\n\n${USAGE}`);
    return 2;
  };
  try {
    switch (command) {
      case 'init': {
        initManifest({ manifest, ...(values.schema ? { schema: values.schema } : {}), force: values.force });
        io.out(`wrote ${manifest}`);
        return 0;
      }
      case 'add': {
        const [model, version, ...files] = args;
        if (!model || !version || (files.length === 0 && !values.from)) return usage('add needs <model> <version> <files...>');
        if (values.mode && values.mode !== 'static' && values.mode !== 'dynamic') return usage('--mode is static or dynamic');
        const partial = preprocessingFrom(values);
        const tolerance = values.tolerance ? numbers(values.tolerance, '--tolerance') : undefined;
        const result = await addVariant({
          manifest,
          model,
          version,
          files,
          ...(values.variant ? { variant: values.variant } : {}),
          ...(values.from ? { from: values.from } : {}),
          ...(values.mode ? { mode: values.mode as 'static' | 'dynamic' } : {}),
          ...(values.calibration ? { calibration: values.calibration } : {}),
          ...(values.report ? { report: values.report } : {}),
          ...(values['latency-runs'] ? { latencyRuns: Number(values['latency-runs']) } : {}),
          ...(values.labels ? { labels: readListOrFile(values.labels) } : {}),
          ...(partial ? { preprocessing: partial } : {}),
          ...(values.task ? { task: values.task } : {}),
          ...(values.notes ? { notes: values.notes } : {}),
          ...(values['input-names'] ? { inputNames: values['input-names'].split(',') } : {}),
          ...(values['output-names'] ? { outputNames: values['output-names'].split(',') } : {}),
          probe: !values['no-probe'],
          ...(tolerance ? { tolerance: { absolute: tolerance[0] ?? 0, relative: tolerance[1] ?? 0 } } : {}),
          log: io.out,
        });
        const size = result.entry.files.reduce((sum, file) => sum + file.size, 0);
        io.out(`added ${result.model} ${result.version} ${result.variant}: ${result.entry.format} ${result.entry.dtype}, ${result.entry.files.length} file(s), ${size} bytes${result.probe ? `, probe ${result.entry.probe?.path}` : ''}`);
        return 0;
      }
      case 'ls': {
        const rows = listModels(manifest, args[0]);
        io.out(values.json ? JSON.stringify(rows, null, 2) : renderListing(rows));
        return 0;
      }
      case 'validate': {
        const result = validateManifest(manifest);
        if (values.json) io.out(JSON.stringify(result, null, 2));
        else if (result.ok) io.out(`${manifest} is valid: ${result.filesChecked} file(s) checked (size, SHA-256)`);
        else for (const problem of result.problems) io.err(`${problem.file}: ${problem.field}: ${problem.message}`);
        return result.ok ? 0 : 1;
      }
      case 'canary': {
        const [model, version, percent] = args;
        if (!model || !version || percent === undefined) return usage('canary needs <model> <version> <percent>');
        setCanary({ manifest, model, version, percent: Number(percent), force: values.force });
        io.out(`${model}: canary ${version} at ${Number(percent)}%`);
        return 0;
      }
      case 'promote': {
        const [model, version] = args;
        if (!model || !version) return usage('promote needs <model> <version>');
        const { result } = promote({ manifest, model, version, force: values.force });
        io.out(`${model}: stable is now ${version} (was ${result.previous}; it stays listed for rollback)`);
        return 0;
      }
      case 'revoke': {
        const [model, version] = args;
        if (!model || !version) return usage('revoke needs <model> <version>');
        const { result } = revoke({ manifest, model, version });
        io.out(`${model}: ${version} revoked; stable is ${result.stable}`);
        return 0;
      }
      case 'rollback': {
        const [model] = args;
        if (!model) return usage('rollback needs <model>');
        const { result } = rollback({ manifest, model });
        io.out(`${model}: stable rolled back from ${result.from} to ${result.to}`);
        return 0;
      }
      default:
        return usage(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (isEdgeInferError(error)) {
      io.err(`error [${error.code}]: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
