/** overlayfs mounts for container root filesystems (mount(8) with the `berth` source label). */
import { execFile } from 'child_process';
import * as fs from 'fs';
import { promisify } from 'util';

const run = promisify(execFile);
/** Mount options must fit in one page. */
const MAX_OPTIONS = 4000;

export interface OverlaySpec {
  /** Read-only layers, bottom (base) first. */
  readonly lowerDirs: readonly string[];
  readonly upperDir: string;
  readonly workDir: string;
  readonly target: string;
}

export async function mountOverlay(spec: OverlaySpec): Promise<void> {
  // overlayfs lists lowerdirs top-most first.
  const lower = [...spec.lowerDirs].reverse().join(':');
  const options = `lowerdir=${lower},upperdir=${spec.upperDir},workdir=${spec.workDir}`;
  if (options.length > MAX_OPTIONS) throw new Error(`overlay mount of ${spec.target}: ${spec.lowerDirs.length} layers exceed the mount option limit`);
  try {
    await run('mount', ['-t', 'overlay', 'berth-overlay', '-o', options, spec.target]);
  } catch (err) {
    throw new Error(`mount overlay at ${spec.target}: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`, { cause: err });
  }
}

export function isMountPoint(target: string): boolean {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((line) => line.split(' ')[4] === target);
}

/** Unmounts if mounted; a lazy detach if the mount is busy. */
export async function unmount(target: string): Promise<void> {
  if (!isMountPoint(target)) return;
  try {
    await run('umount', [target]);
  } catch {
    try {
      await run('umount', ['-l', target]);
    } catch (err) {
      throw new Error(`umount ${target}: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`, { cause: err });
    }
  }
}
