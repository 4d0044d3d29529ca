// Builds the demo (with the bench page), writes the files the Transformers.js peer loads locally,
// and serves the build with `vite preview` (which sends the COOP/COEP headers from vite.config.ts).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/**
 * Its own output folder: the tests build into dist/demo and serve it from a preview that may be
 * running; emptying that folder under them would break their run.
 */
export const BENCH_OUT_DIR = 'dist/bench-demo';

export function buildDemo(root: string): number {
  const started = Date.now();
  const result = spawnSync('npx', ['vite', 'build', '--logLevel', 'warn', '--outDir', BENCH_OUT_DIR], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`vite build failed (exit ${result.status})`);
  return Date.now() - started;
}

/**
 * Transformers.js feeds `pixel_values` to the session and needs a config.json (model_type, id2label)
 * and a preprocessor_config.json. The ONNX file is ours, byte for byte except the input's name.
 */
export function writeTransformersModel(
  root: string,
  options: { folder: string; sourceModel: string; modelName: string; labels: readonly string[]; preprocessing: { width: number; height: number; channels?: number; mean: readonly number[]; std: readonly number[] } },
): void {
  const folder = join(options.folder, options.modelName);
  mkdirSync(join(folder, 'onnx'), { recursive: true });
  const model = onnx.ModelProto.decode(readFileSync(join(root, 'models', options.sourceModel)));
  const graph = model.graph!;
  const inputName = graph.input![0]!.name!;
  const rename = (name: string) => (name === inputName ? 'pixel_values' : name);
  graph.input![0]!.name = 'pixel_values';
  for (const node of graph.node ?? []) node.input = (node.input ?? []).map(rename);
  writeFileSync(join(folder, 'onnx/model.onnx'), onnx.ModelProto.encode(model).finish());
  const id2label = Object.fromEntries(options.labels.map((label, index) => [String(index), label]));
  const label2id = Object.fromEntries(options.labels.map((label, index) => [label, index]));
  writeFileSync(
    join(folder, 'config.json'),
    JSON.stringify({ model_type: 'mobilenet_v2', architectures: ['MobileNetV2ForImageClassification'], num_labels: options.labels.length, id2label, label2id }, null, 2),
  );
  // The same preprocessing as the engine's manifest: a plain resize to 224x224 (no crop), ImageNet mean/std.
  writeFileSync(
    join(folder, 'preprocessor_config.json'),
    JSON.stringify(
      {
        image_processor_type: 'MobileNetV2ImageProcessor',
        // A one-channel model (Fashion-MNIST) is handed a grayscale RawImage: no RGB conversion.
        do_convert_rgb: (options.preprocessing.channels ?? 3) === 3,
        do_resize: true,
        size: { height: options.preprocessing.height, width: options.preprocessing.width },
        resample: 2,
        do_center_crop: false,
        do_rescale: true,
        rescale_factor: 1 / 255,
        do_normalize: true,
        image_mean: options.preprocessing.mean,
        image_std: options.preprocessing.std,
      },
      null,
      2,
    ),
  );
}

export interface PreviewServer {
  readonly url: string;
  close(): void;
}

export async function startPreview(root: string, port: number): Promise<PreviewServer> {
  // Its own process group, so closing it ends npx and vite together (and nothing else).
  const child = spawn('npx', ['vite', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort', '--outDir', BENCH_OUT_DIR], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = `http://127.0.0.1:${port}`;
  const close = () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`vite preview exited (${child.exitCode}): ${output}`);
    const ok = await fetch(`${url}/bench/`).then((response) => response.ok, () => false);
    if (ok) return { url, close };
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  close();
  throw new Error(`vite preview did not answer on ${url} within 60 s: ${output}`);
}
