// `npm run conformance [-- --only <regex>] [--modes raw,wasm,webgpu,webgpu-probe] [--limit N] [--merge] [--verbose]`
// Runs the ONNX backend node tests (Debian's libonnx-testdata) through createEngine() in Chromium
// (worker mode, in-memory manifests) and through raw onnxruntime-web wasm as the reference, and
// writes test-results/conformance/onnx-node.json (every case) and .md (the summary table).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from '@playwright/test';
import { createServer } from 'vite';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium.js';
import { judge, type PageResult, type Verdict } from './compare-case.js';
import { listCaseNames, readCase, type NodeCase } from './onnx-node-cases.js';
import { onnxNodeReference } from './onnx-node-reference.js';
import { probeText } from './wire-tensors.js';

const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
const PORT = 5187;
const LOCK_FILE = '/tmp/edgeinfer-browser.lock';
const OUT_DIR = join(ROOT, 'test-results/conformance');
/** A fresh engine (worker) every this many cases, so one poisoned backend cannot colour the rest. */
const ENGINE_EVERY = 40;
const CASE_TIMEOUT_MS = Number(process.env.CONFORMANCE_CASE_TIMEOUT_MS ?? 30_000);

type Mode = 'raw' | 'wasm' | 'webgpu' | 'webgpu-probe';
const MODE_LABEL: Record<Mode, string> = {
  raw: 'raw onnxruntime-web 1.30, wasm',
  wasm: "engine, backends ['wasm']",
  webgpu: "engine, backends ['webgpu', 'wasm'] (WebGPU first, fallback)",
  'webgpu-probe': "engine, ['webgpu', 'wasm'], each variant with a reference probe (onnxruntime-node)",
};

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function reexecUnderLock(): boolean {
  if (process.env.EDGEINFER_CONFORMANCE_LOCKED || !existsSync('/usr/bin/flock')) return false;
  console.error(`conformance: waiting for ${LOCK_FILE} ...`);
  const result = spawnSync('/usr/bin/flock', [LOCK_FILE, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, EDGEINFER_CONFORMANCE_LOCKED: '1' },
  });
  process.exit(result.status ?? 1);
}

async function withProbe(testCase: NodeCase): Promise<NodeCase & { probe?: { text: string; tolerance: { absolute: number; relative: number } } }> {
  try {
    // The probe a publisher would ship: these inputs, and what onnxruntime-node (CPU) answers for
    // them (not the ONNX reference outputs), so it checks the browser backend against another runtime.
    const inputs = Object.fromEntries(testCase.inputs.map((entry) => [entry.name, entry.tensor]));
    const outputs = await onnxNodeReference(Buffer.from(testCase.modelBase64, 'base64'), inputs);
    const text = probeText(inputs, outputs);
    return { ...testCase, probe: { text, tolerance: { absolute: 1e-4, relative: 1e-3 } } };
  } catch {
    return testCase; // onnxruntime-node cannot run it either: no probe, as the release tool would publish
  }
}

async function openPage(page: Page, modes: readonly Mode[]) {
  await page.goto(`http://127.0.0.1:${PORT}/test-harness.html`);
  await page.waitForFunction(() => document.body.dataset.ready === 'true');
  await page.addScriptTag({ content: readFileSync(join(ROOT, 'e2e/conformance/conformance-page.js'), 'utf8') });
  if (modes.includes('raw')) {
    await page.evaluate(async (root) => {
      const ort = await import(/* @vite-ignore */ `/@fs${root}/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs`);
      ort.env.wasm.wasmPaths = `/@fs${root}/node_modules/onnxruntime-web/dist/`;
      ort.env.wasm.numThreads = 1;
      (window as unknown as { __ort: unknown }).__ort = ort;
    }, ROOT);
  }
}

async function main() {
  if (reexecUnderLock()) return;
  const only = flag('--only') ? new RegExp(flag('--only')!) : undefined;
  const modes = (flag('--modes') ?? 'raw,wasm,webgpu,webgpu-probe').split(',') as Mode[];
  const limit = Number(flag('--limit') ?? Infinity);
  const names = listCaseNames().filter((name) => !only || only.test(name)).slice(0, limit);
  const cases = names.map((name) => readCase(name));
  console.error(`conformance: ${cases.length} cases, modes ${modes.join(', ')}`);

  const server = await createServer({ configFile: join(ROOT, 'vite.config.ts'), server: { port: PORT, strictPort: true, host: '127.0.0.1' }, logLevel: 'warn' });
  await server.listen();
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
  // --merge adds these modes to the last run's results, so the modes can run one lock-holding at a time.
  const previousFile = join(OUT_DIR, 'onnx-node.json');
  const previous = process.argv.includes('--merge') && existsSync(previousFile) ? (JSON.parse(readFileSync(previousFile, 'utf8')) as { modes: { mode: Mode }[]; results: typeof results }) : undefined;
  const results: Record<string, Record<Mode, { verdict: Verdict; detail: string; backend?: string; fallbacks?: PageResult['fallbacks'] }>> = previous?.results ?? {};
  const reportModes = [...new Set([...(previous?.modes.map((entry) => entry.mode) ?? []), ...modes])];
  try {
    for (const mode of modes) {
      const started = Date.now();
      const context = await browser.newContext();
      let page = await context.newPage();
      const logPage = (target: Page) => {
        if (process.argv.includes('--verbose')) target.on('console', (message) => console.error(`    [page ${message.type()}] ${message.text().slice(0, 300)}`));
      };
      logPage(page);
      await openPage(page, modes);
      let sinceEngine = ENGINE_EVERY;
      for (const [index, base] of cases.entries()) {
        const entry = (results[base.name] ??= {} as (typeof results)[string]);
        if (base.unsupported) {
          entry[mode] = { verdict: 'unsupported', detail: base.unsupported };
          continue;
        }
        const testCase = mode === 'webgpu-probe' ? await withProbe(base) : base;
        if (mode !== 'raw' && sinceEngine >= ENGINE_EVERY) {
          await page.evaluate(async () => {
            const holder = window as unknown as { __engine?: { dispose(): Promise<void> } };
            await holder.__engine?.dispose().catch(() => undefined);
            holder.__engine = window.edgeinfer.createEngine();
          });
          sinceEngine = 0;
        }
        sinceEngine++;
        const backends = mode === 'wasm' ? ['wasm'] : ['webgpu', 'wasm'];
        let result: PageResult;
        try {
          result = await Promise.race([
            page.evaluate(
              ({ testCase, mode, backends }) => {
                const holder = window as unknown as { __engine: unknown; __ort: unknown; __conformance: { runEngineCase: (...args: unknown[]) => Promise<PageResult>; runRawCase: (...args: unknown[]) => Promise<PageResult> } };
                return mode === 'raw' ? holder.__conformance.runRawCase(holder.__ort, testCase) : holder.__conformance.runEngineCase(holder.__engine, testCase, backends);
              },
              { testCase, mode, backends },
            ) as Promise<PageResult>,
            new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer in ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS)),
          ]);
        } catch (error) {
          result = { status: 'error', code: 'page', message: (error as Error).message, fallbacks: [] };
          console.error(`  ${mode} ${base.name}: ${(error as Error).message.slice(0, 160)} (new page and engine)`);
          await page.close().catch(() => undefined);
          page = await context.newPage();
          logPage(page);
          await openPage(page, modes);
          sinceEngine = ENGINE_EVERY;
        }
        const verdict = judge(testCase, result);
        entry[mode] = { ...verdict, ...(result.backend ? { backend: result.backend } : {}), ...(result.fallbacks.length ? { fallbacks: result.fallbacks } : {}) };
        if (process.argv.includes('--verbose')) console.error(`  ${mode} ${base.name}: ${verdict.verdict} ${result.backend ?? ''} ${verdict.detail.slice(0, 200)}`);
        // Written as it goes: a long run that is stopped keeps what it measured.
        if ((index + 1) % 50 === 0) writeReport(results, (['raw', 'wasm', 'webgpu', 'webgpu-probe'] as const).filter((entry) => reportModes.includes(entry)), cases.length, true);
        if ((index + 1) % 50 === 0) console.error(`  ${mode}: ${index + 1}/${cases.length} (${Math.round((Date.now() - started) / 1000)} s)`);
      }
      await context.close();
      console.error(`conformance: ${mode} done in ${Math.round((Date.now() - started) / 1000)} s`);
    }
  } finally {
    await browser.close();
    await server.close();
  }
  writeReport(results, (['raw', 'wasm', 'webgpu', 'webgpu-probe'] as const).filter((mode) => reportModes.includes(mode)), cases.length);
}

function writeReport(results: Record<string, Partial<Record<Mode, { verdict: Verdict; detail: string; backend?: string; fallbacks?: PageResult['fallbacks'] }>>>, modes: readonly Mode[], total: number, quiet = false) {
  mkdirSync(OUT_DIR, { recursive: true });
  const count = (mode: Mode, verdict: Verdict) => Object.values(results).filter((entry) => entry[mode]?.verdict === verdict).length;
  const lines = [
    `# ONNX node tests through the engine (${total} cases, ${new Date().toISOString().slice(0, 10)})`,
    '',
    '| run | pass | wrong | error | unsupported |',
    '|---|---|---|---|---|',
    ...modes.map((mode) => `| ${MODE_LABEL[mode]} | ${count(mode, 'pass')} | ${count(mode, 'wrong')} | ${count(mode, 'error')} | ${count(mode, 'unsupported')} |`),
    '',
  ];
  const passedBy = (mode: Mode) => new Set(Object.entries(results).filter(([, entry]) => entry[mode]?.verdict === 'pass').map(([name]) => name));
  if (modes.includes('raw') && modes.includes('wasm')) {
    const raw = passedBy('raw');
    const engine = passedBy('wasm');
    const lost = [...raw].filter((name) => !engine.has(name));
    const gained = [...engine].filter((name) => !raw.has(name));
    lines.push(`Raw wasm passes that engine-wasm does not: ${lost.length}${lost.length ? ` (${lost.join(', ')})` : ''}.`);
    lines.push(`Engine-wasm passes that raw wasm does not: ${gained.length}${gained.length ? ` (${gained.join(', ')})` : ''}.`, '');
  }
  for (const mode of ['webgpu', 'webgpu-probe'] as const) {
    if (!modes.includes(mode) || !modes.includes('wasm')) continue;
    const wasm = passedBy('wasm');
    const silent = Object.entries(results).filter(([name, entry]) => wasm.has(name) && entry[mode]?.verdict === 'wrong' && !entry[mode]?.fallbacks?.length);
    const rescued = Object.values(results).filter((entry) => entry[mode]?.verdict === 'pass' && entry[mode]?.fallbacks?.length).length;
    const onGpu = Object.values(results).filter((entry) => entry[mode]?.verdict === 'pass' && entry[mode]?.backend === 'ort-webgpu').length;
    lines.push(`${MODE_LABEL[mode]}: ${onGpu} passed on ort-webgpu itself, ${rescued} passed after a recorded fallback; cases wasm answers correctly that came back wrong with no recorded fallback: ${silent.length}${silent.length ? ` (${silent.map(([name, entry]) => `${name}: ${entry[mode]!.detail}`).join('; ')})` : ''}.`, '');
  }
  writeFileSync(join(OUT_DIR, 'onnx-node.json'), `${JSON.stringify({ modes: modes.map((mode) => ({ mode, label: MODE_LABEL[mode] })), results }, null, 1)}\n`);
  writeFileSync(join(OUT_DIR, 'onnx-node.md'), `${lines.join('\n')}\n`);
  if (!quiet) console.log(lines.join('\n'));
}

await main();
