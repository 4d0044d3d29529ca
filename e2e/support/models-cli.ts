import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs the release CLI (`edgeinfer-models`, from source) on one manifest file and returns what it printed. */
export function runModelsCli(manifestPath: string, ...args: string[]): string {
  return execFileSync(process.execPath, ['--conditions=source', '--import', 'tsx', join(ROOT, 'packages/models-cli/bin/edgeinfer-models.js'), ...args, '--manifest', manifestPath], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}
