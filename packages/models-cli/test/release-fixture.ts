import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../src/index.js';

export const MODELS = new URL('../../../models/', import.meta.url).pathname;

/** A release directory with copies of this repo's Fashion-MNIST artifacts, as a user's build would leave them. */
export function releaseDir(): { dir: string; manifest: string; path: (relative: string) => string } {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-models-'));
  for (const version of ['1.0.0', '1.1.0']) {
    mkdirSync(join(dir, `fashion/${version}/tfjs`), { recursive: true });
    copyFileSync(join(MODELS, `fashion-mnist/${version}/model.onnx`), join(dir, `fashion/${version}/model.onnx`));
    copyFileSync(join(MODELS, `fashion-mnist/${version}/tfjs/model.json`), join(dir, `fashion/${version}/tfjs/model.json`));
    copyFileSync(join(MODELS, `fashion-mnist/${version}/tfjs/weights.bin`), join(dir, `fashion/${version}/tfjs/weights.bin`));
  }
  return { dir, manifest: join(dir, 'manifest.json'), path: (relative) => join(dir, relative) };
}

/** Runs the CLI in-process and keeps what it printed. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

export const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
export const LABELS = 'T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot';
