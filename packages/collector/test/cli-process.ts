import { spawn, type ChildProcess } from 'node:child_process';

const LOADER = new URL('../source-run/typescript-loader.js', import.meta.url).href;
const CLI = new URL('../src/cli.ts', import.meta.url).href;

/** The CLI from its sources (not a build), as its own process: what an operator starts. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const script = `import { register } from 'node:module'; register(${JSON.stringify(LOADER)}); const { runCli } = await import(${JSON.stringify(CLI)}); await runCli(process.argv.slice(1), process.env);`;
  return spawn(process.execPath, ['--input-type=module', '-e', script, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'], ...env } });
}

export interface CliOutcome {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI until it exits. */
export function runCliToExit(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliOutcome> {
  const child = spawnCli(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (exitCode) => resolve({ exitCode, stdout, stderr })));
}

/** Starts the CLI and resolves once it prints the address it listens on. */
export function startCliServer(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawnCli(args, env);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) resolve({ child, url: match[1]!, output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`collector exited with ${code} before listening:\n${output}`)));
  });
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}
