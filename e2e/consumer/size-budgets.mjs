// Size budgets, measured the way an app ships the code: esbuild-bundled and minified from the
// installed tarballs, gzip-compressed, counting the entry and every chunk it imports statically
// (code behind a dynamic import, such as onnxruntime-web, loads only when a model needs it).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

export const BUDGETS = [
  { name: 'page-side entry of @edgeinfer/runtime (createEngine, createTensor)', entry: "export { createEngine, createTensor } from '@edgeinfer/runtime/onnx';", maxGzipBytes: 15 * 1024 },
  { name: 'engine worker before any backend library', file: '@edgeinfer/runtime/dist/worker-onnx.js', maxGzipBytes: 30 * 1024 },
];

async function staticGzipBytes(esbuild, app, budget) {
  const entryPoints = budget.file ? [join(app, 'node_modules', budget.file)] : undefined;
  const result = await esbuild.build({
    ...(entryPoints ? { entryPoints } : { stdin: { contents: budget.entry, resolveDir: app, loader: 'js' } }),
    bundle: true,
    splitting: true,
    format: 'esm',
    minify: true,
    write: false,
    metafile: true,
    outdir: join(app, 'size-out'),
    absWorkingDir: app,
    logLevel: 'silent',
  });
  const outputs = result.metafile.outputs;
  const byPath = new Map(result.outputFiles.map((file) => [file.path, file.contents]));
  const entry = Object.keys(outputs).find((path) => outputs[path].entryPoint !== undefined && !path.endsWith('.map'));
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const imported of outputs[path].imports) if (imported.kind === 'import-statement' && !imported.external) visit(imported.path);
  };
  visit(entry);
  let total = 0;
  for (const path of seen) total += gzipSync(byPath.get(join(app, path)) ?? readFileSync(join(app, path))).length;
  return total;
}

export async function checkSizeBudgets(app) {
  const esbuild = createRequire(join(app, 'package.json'))('esbuild');
  const lines = [];
  const over = [];
  for (const budget of BUDGETS) {
    const bytes = await staticGzipBytes(esbuild, app, budget);
    const line = `${budget.name}: ${(bytes / 1024).toFixed(1)} kB gzip (budget ${(budget.maxGzipBytes / 1024).toFixed(0)} kB)`;
    lines.push(line);
    if (bytes > budget.maxGzipBytes) over.push(line);
  }
  console.log(lines.map((line) => `     ${line}`).join('\n'));
  if (over.length) throw new Error(`over budget: ${over.join('; ')}`);
  return lines.join('; ');
}
