/** overlayfs mounts for container root filesystems (mount(2) with the `berth-overlay` source label). */
import * as fs from 'fs';
import * as path from 'path';
import { EBUSY, EINVAL, ENOENT, MNT_DETACH, mount, SyscallError, umount2 } from './fsops';

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
    await mount('berth-overlay', spec.target, 'overlay', 0, options);
  } catch (err) {
    throw new Error(`mount overlay at ${spec.target}: ${(err as Error).message}`, { cause: err });
  }
}

export function isMountPoint(target: string): boolean {
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  // The common answer, no, without splitting thousands of lines (a path with a space is escaped as \040 there).
  if (!mounts.includes(` ${target} `)) return false;
  return mounts.split('\n').some((line) => line.split(' ')[4] === target);
}

/**
 * Whether an overlay is mounted at `target`: the root of an overlay mount reports the overlay's own device, not
 * its parent directory's. One stat each instead of reading every mount of the host (prepareRootfs runs per start).
 */
export async function isOverlayMounted(target: string): Promise<boolean> {
  const [own, parent] = await Promise.all([fs.promises.stat(target), fs.promises.stat(path.dirname(target))]);
  return own.dev !== parent.dev;
}

/** Unmounts if mounted (EINVAL: not a mount point); a lazy detach if the mount is busy. */
export async function unmount(target: string): Promise<void> {
  const errno = (err: unknown) => (err instanceof SyscallError ? err.errno : undefined);
  try {
    await umount2(target);
  } catch (err) {
    if (errno(err) === EINVAL || errno(err) === ENOENT) return;
    if (errno(err) !== EBUSY) throw new Error(`umount ${target}: ${(err as Error).message}`, { cause: err });
    try {
      await umount2(target, MNT_DETACH);
    } catch (lazy) {
      throw new Error(`umount -l ${target}: ${(lazy as Error).message}`, { cause: lazy });
    }
  }
}
