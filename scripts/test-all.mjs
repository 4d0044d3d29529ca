#!/usr/bin/env node
// `npm test`: build the packages, typecheck, lint, unit tests (Vitest), browser tests (Playwright) and the
// consumer suite (packed tarballs in apps outside the workspace), then one summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const steps = [
  { name: 'packages', command: 'node scripts/build-packages.mjs' },
  { name: 'typecheck', command: 'npm run -s typecheck' },
  { name: 'lint', command: 'npm run -s lint' },
  // models/manifest.json is current: every file it names exists with its size and SHA-256, the schema holds (bash models/build/publish-manifest.sh rewrites it).
  { name: 'manifest', command: 'node packages/models-cli/bin/edgeinfer-models.js validate --manifest models/manifest.json' },
  { name: 'unit', command: 'npx vitest run --reporter=default --reporter=json --outputFile=test-results/vitest.json', results: 'test-results/vitest.json' },
  { name: 'e2e', command: 'npm run -s test:e2e', results: 'test-results/playwright.json' },
  { name: 'consumer', command: 'node e2e/consumer/run-consumer.mjs', results: 'test-results/consumer.json' },
];

function count(step) {
  if (!step.results || !existsSync(step.results)) return { passed: 0, failed: 0, skipped: 0 };
  const report = JSON.parse(readFileSync(step.results, 'utf8'));
  if (step.name === 'consumer') return { passed: report.passed, failed: report.failed, skipped: 0 };
  if (step.name === 'unit') return { passed: report.numPassedTests ?? 0, failed: report.numFailedTests ?? 0, skipped: report.numPendingTests ?? 0 };
  const stats = report.stats ?? {};
  return { passed: stats.expected ?? 0, failed: (stats.unexpected ?? 0) + (stats.flaky ?? 0), skipped: stats.skipped ?? 0 };
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const lines = [];
for (const step of steps) {
  if (step.results) rmSync(step.results, { force: true });
  const started = Date.now();
  console.log(`\n=== ${step.name}: ${step.command}`);
  const { status } = spawnSync(step.command, { stdio: 'inherit', shell: true });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const counts = count(step);
  totals.passed += counts.passed;
  totals.failed += counts.failed;
  totals.skipped += counts.skipped;
  if (status !== 0 && counts.failed === 0) totals.failed += 1; // a step that failed outside any test (typecheck, lint, crash)
  lines.push(`${status === 0 ? 'ok  ' : 'FAIL'} ${step.name} (${seconds} s)${step.results ? `: ${counts.passed} passed, ${counts.failed} failed` : ''}`);
}
console.log(`\n${lines.join('\n')}`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(totals.failed > 0 ? 1 : 0);
