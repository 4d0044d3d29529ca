import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real disk faults for tests. They need root (the tests run as root in CI); without it the mount
 * fails loudly, never skips. Root ignores chmod, so read-only is the immutable attribute (ext4
 * chattr +i: the kernel refuses writes even through already open descriptors) or a read-only bind mount.
 */
export function mountTinyDisk(sizeBytes: number): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-tinydisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  return {
    dir,
    unmount() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function readOnlyBindMount(source: string): { dir: string; unmount(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'edgeinfer-readonly-'));
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['--bind', source, dir]);
  execFileSync('mount', ['-o', 'remount,bind,ro', dir]);
  return {
    dir,
    unmount() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function setImmutable(paths: readonly string[], immutable: boolean): void {
  execFileSync('chattr', [immutable ? '+i' : '-i', ...paths]);
}
