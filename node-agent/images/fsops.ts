/**
 * The few filesystem calls Node lacks and layers need: mknod (whiteouts, fifos), lsetxattr/lgetxattr
 * (overlayfs opaque dirs, file capabilities) and mount/umount2 (container root filesystems, without a mount(8)
 * process each). Called through ffi-rs into glibc; only this file does that for images.
 */
import { DataType, load, open } from 'ffi-rs';

const LIBC = 'berth-images-libc';
let opened = false;

interface CallResult { value: number; errnoCode: number; errnoMessage: string }

function openLibc(): void {
  if (!opened) {
    open({ library: LIBC, path: 'libc.so.6' });
    opened = true;
  }
}

function call(funcName: string, retType: DataType, paramsType: DataType[], paramsValue: unknown[]): CallResult {
  openLibc();
  const r = load({ library: LIBC, funcName, retType, paramsType, paramsValue, errno: true, runInNewThread: false });
  return r as unknown as CallResult;
}

/** The same call on another thread: for syscalls that can block for milliseconds (mount, umount), off the event loop. */
async function callInThread(funcName: string, paramsType: DataType[], paramsValue: unknown[]): Promise<CallResult> {
  openLibc();
  const r = await load({ library: LIBC, funcName, retType: DataType.I32, paramsType, paramsValue, errno: true, runInNewThread: true });
  return r as unknown as CallResult;
}

export class SyscallError extends Error {
  constructor(readonly syscall: string, readonly path: string, readonly errno: number, message: string) {
    super(`${syscall}(${path}): ${message}`);
    this.name = 'SyscallError';
  }
}

export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
const ENODATA = 61;

/** mknod(2); `dev` is makedev(major, minor) — 0 for an overlayfs whiteout. */
export function mknod(path: string, mode: number, dev = 0): void {
  const r = call('mknod', DataType.I32, [DataType.String, DataType.I32, DataType.U64], [path, mode, dev]);
  if (r.value !== 0) throw new SyscallError('mknod', path, r.errnoCode, r.errnoMessage);
}

/** lsetxattr(2) with a binary value; does not follow symlinks. */
export function lsetxattr(path: string, name: string, value: Buffer): void {
  const r = call('lsetxattr', DataType.I32, [DataType.String, DataType.String, DataType.U8Array, DataType.I64, DataType.I32],
    [path, name, value, value.length, 0]);
  if (r.value !== 0) throw new SyscallError('lsetxattr', `${path}, ${name}`, r.errnoCode, r.errnoMessage);
}

/** True if the attribute is set (lgetxattr(2) with a zero-size buffer asks only for its size). */
export function hasXattr(path: string, name: string): boolean {
  const r = call('lgetxattr', DataType.I64, [DataType.String, DataType.String, DataType.U8Array, DataType.I64], [path, name, Buffer.alloc(1), 0]);
  if (Number(r.value) >= 0) return true;
  if (r.errnoCode === ENODATA) return false;
  throw new SyscallError('lgetxattr', `${path}, ${name}`, r.errnoCode, r.errnoMessage);
}

export const MNT_DETACH = 2;
export const EINVAL = 22;
export const ENOENT = 2;
export const EBUSY = 16;

/** mount(2) with string `data` (the file system's options), on another thread. */
export async function mount(source: string, target: string, fsType: string, flags: number, data: string): Promise<void> {
  const r = await callInThread('mount', [DataType.String, DataType.String, DataType.String, DataType.U64, DataType.String], [source, target, fsType, flags, data]);
  if (r.value !== 0) throw new SyscallError('mount', target, r.errnoCode, r.errnoMessage);
}

/** umount2(2), on another thread: `flags` 0 or MNT_DETACH (lazy). */
export async function umount2(target: string, flags = 0): Promise<void> {
  const r = await callInThread('umount2', [DataType.String, DataType.I32], [target, flags]);
  if (r.value !== 0) throw new SyscallError('umount2', target, r.errnoCode, r.errnoMessage);
}
