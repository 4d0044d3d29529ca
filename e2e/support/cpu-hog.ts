import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';

/**
 * Busy processes that keep every core at 100 % while a spec runs, as on a loaded kiosk or a busy CI
 * runner: fault handling must hold when runs are slow. Each child checks now and then that its
 * parent is alive and stops by itself after maxLifetimeMs, so a killed test run leaves no spinner.
 */
export interface CpuHog {
  readonly processes: number;
  stop(): Promise<void>;
}

const SPINNER = `
const parent = Number(process.argv[1]);
const end = Date.now() + Number(process.argv[2]);
for (let i = 0; ; i++) {
  if (i % 50000000 === 0) {
    if (Date.now() > end) process.exit(0);
    try { process.kill(parent, 0); } catch { process.exit(0); }
  }
}`;

export function startCpuHog(options: { processes?: number; maxLifetimeMs?: number } = {}): CpuHog {
  const count = options.processes ?? availableParallelism();
  const children: ChildProcess[] = [];
  for (let index = 0; index < count; index++) {
    children.push(spawn(process.execPath, ['-e', SPINNER, String(process.pid), String(options.maxLifetimeMs ?? 15 * 60_000)], { stdio: 'ignore' }));
  }
  return {
    processes: count,
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        ),
      );
    },
  };
}
