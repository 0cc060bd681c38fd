/**
 * The few libseccomp.so.2 entry points Berth needs, called through ffi-rs.
 * This file (with native.ts) is the only place outside the C library that crosses into native code;
 * docs/adr/0002-libseccomp-through-ffi.md says why.
 */
import * as fs from 'node:fs';
import type * as FfiRs from 'ffi-rs';

const LIBSECCOMP = 'libseccomp.so.2';
const LIBC = 'libc.so.6';

/** Opaque `scmp_filter_ctx`. */
export type FilterContext = FfiRs.JsExternal;

/** One `struct scmp_arg_cmp` (24 bytes: u32 arg, u32 op, u64 datum_a, u64 datum_b). */
export interface ArgCompare {
  readonly arg: number;
  readonly op: number;
  readonly datumA: bigint;
  readonly datumB: bigint;
}

export class LibseccompError extends Error {
  constructor(
    readonly call: string,
    readonly errno: number,
    detail: string,
  ) {
    super(`${call}: ${detail} (errno ${errno})`);
    this.name = 'LibseccompError';
  }
}

let ffi: typeof FfiRs | undefined;

/** Loaded on first use so that importing the runtime does not load a native addon. */
function lib(): typeof FfiRs {
  if (!ffi) {
    const loaded = require('ffi-rs') as typeof FfiRs;
    loaded.open({ library: LIBSECCOMP, path: LIBSECCOMP });
    loaded.open({ library: LIBC, path: LIBC });
    ffi = loaded;
  }
  return ffi;
}

function call<T>(library: string, funcName: string, retType: FfiRs.DataType, paramsType: FfiRs.DataType[], paramsValue: unknown[]): T {
  return lib().load({ library, funcName, retType, paramsType, paramsValue }) as T;
}

function check(callName: string, rc: number, detail: string): void {
  if (rc < 0) throw new LibseccompError(callName, -rc, detail);
}

const T = () => lib().DataType;

export function init(defaultAction: number): FilterContext {
  const ctx = call<FilterContext>(LIBSECCOMP, 'seccomp_init', T().External, [T().U32], [defaultAction]);
  if (lib().isNullPointer(ctx)) throw new LibseccompError('seccomp_init', 22, `invalid default action 0x${defaultAction.toString(16)}`);
  return ctx;
}

export function release(ctx: FilterContext): void {
  call(LIBSECCOMP, 'seccomp_release', T().Void, [T().External], [ctx]);
}

/** Token for `x86_64`, `x86`, `x32`, `aarch64`, ...; 0 when libseccomp does not know the name. */
export function archResolveName(name: string): number {
  return call<number>(LIBSECCOMP, 'seccomp_arch_resolve_name', T().U32, [T().String], [name]);
}

export function archNative(): number {
  return call<number>(LIBSECCOMP, 'seccomp_arch_native', T().U32, [], []);
}

export function archAdd(ctx: FilterContext, token: number, name: string): void {
  const rc = call<number>(LIBSECCOMP, 'seccomp_arch_add', T().I32, [T().External, T().U32], [ctx, token]);
  // -EEXIST: the architecture is already in the filter (the native one always is).
  if (rc !== -17) check('seccomp_arch_add', rc, name);
}

/** The native syscall number (negative pseudo-numbers for other-arch-only syscalls), or undefined if unknown. */
export function syscallResolveName(name: string): number | undefined {
  const nr = call<number>(LIBSECCOMP, 'seccomp_syscall_resolve_name', T().I32, [T().String], [name]);
  return nr === -1 ? undefined : nr;
}

export function ruleAdd(ctx: FilterContext, action: number, syscall: number, args: readonly ArgCompare[], what: string): void {
  const buf = Buffer.alloc(Math.max(1, args.length) * 24);
  args.forEach((a, i) => {
    buf.writeUInt32LE(a.arg, i * 24);
    buf.writeUInt32LE(a.op, i * 24 + 4);
    buf.writeBigUInt64LE(a.datumA, i * 24 + 8);
    buf.writeBigUInt64LE(a.datumB, i * 24 + 16);
  });
  const rc = call<number>(
    LIBSECCOMP,
    'seccomp_rule_add_array',
    T().I32,
    [T().External, T().U32, T().I32, T().U32, T().U8Array],
    [ctx, action, syscall, args.length, buf],
  );
  check('seccomp_rule_add_array', rc, what);
}

/** The filter as raw `struct sock_filter[]` bytes, exported through a memfd (libseccomp 2.5 writes only to an fd). */
export function exportBpf(ctx: FilterContext): Buffer {
  const fd = call<number>(LIBC, 'memfd_create', T().I32, [T().String, T().U32], ['berth-seccomp', 1 /* MFD_CLOEXEC */]);
  if (fd < 0) throw new LibseccompError('memfd_create', 0, 'cannot create a memfd for the BPF export');
  try {
    check('seccomp_export_bpf', call<number>(LIBSECCOMP, 'seccomp_export_bpf', T().I32, [T().External, T().I32], [ctx, fd]), 'export');
    const size = fs.fstatSync(fd).size;
    const out = Buffer.alloc(size);
    fs.readSync(fd, out, 0, size, 0);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
