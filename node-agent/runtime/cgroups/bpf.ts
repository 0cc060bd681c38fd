/**
 * Loading an eBPF device filter and attaching it to a cgroup v2 directory, through the bpf(2)
 * syscall reached with ffi-rs (libc's syscall()). Like seccomp/libseccomp.ts this is a narrow
 * second FFI seam (docs/adr/0002-libseccomp-through-ffi.md): bpf(2) takes a union whose fields
 * hold pointers, so the instructions, the license and the attribute block live in malloc'd memory.
 */
import * as fs from 'node:fs';
import type * as FfiRs from 'ffi-rs';
import { CgroupError } from './types';

const LIBC = 'libc.so.6';
const LIBRARY = 'berth-cgroups-libc';
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };
const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
/** Large enough for every field we set; the kernel requires the bytes it does not know to be zero. */
const ATTR_SIZE = 128;
const LOG_SIZE = 16384;

let ffi: typeof FfiRs | undefined;

function lib(): typeof FfiRs {
  if (!ffi) {
    const loaded = require('ffi-rs') as typeof FfiRs;
    loaded.open({ library: LIBRARY, path: LIBC });
    ffi = loaded;
  }
  return ffi;
}

/** A zeroed native block with a Buffer view on it (no copies) and its address for pointer fields. */
interface NativeBlock {
  readonly view: Buffer;
  readonly address: bigint;
  free(): void;
}

function allocate(size: number): NativeBlock {
  const f = lib();
  const T = f.DataType;
  const mem = f.load({ library: LIBRARY, funcName: 'calloc', retType: T.External, paramsType: [T.U64, T.U64], paramsValue: [1, size] });
  if (f.isNullPointer(mem)) throw new CgroupError(`calloc(${size}) failed`);
  // memcpy returns its destination: the only way ffi-rs gives us a pointer as a number.
  const address = f.load({ library: LIBRARY, funcName: 'memcpy', retType: T.BigInt, paramsType: [T.External, T.External, T.U64], paramsValue: [mem, mem, 0] }) as bigint;
  return {
    view: f.createExternalBuffer(mem, size),
    address,
    free: () => f.load({ library: LIBRARY, funcName: 'free', retType: T.Void, paramsType: [T.External], paramsValue: [mem] }),
  };
}

function bpf(cmd: number, attr: NativeBlock): { fd: number; errno: number } {
  const f = lib();
  const T = f.DataType;
  const nr = SYS_BPF[process.arch];
  if (!nr) throw new CgroupError(`bpf(2) syscall number unknown on ${process.arch}`);
  const r = f.load({
    library: LIBRARY,
    funcName: 'syscall',
    retType: T.I64,
    paramsType: [T.I64, T.I64, T.BigInt, T.I64],
    paramsValue: [nr, cmd, attr.address, ATTR_SIZE],
    errno: true,
  }) as { value: number; errnoCode: number };
  return { fd: r.value, errno: r.errnoCode };
}

function loadProgram(insns: Buffer): number {
  const code = allocate(insns.length);
  const license = allocate(16);
  const log = allocate(LOG_SIZE);
  const attr = allocate(ATTR_SIZE);
  try {
    insns.copy(code.view);
    license.view.write('Apache-2.0\0');
    attr.view.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
    attr.view.writeUInt32LE(insns.length / 8, 4);
    attr.view.writeBigUInt64LE(code.address, 8);
    attr.view.writeBigUInt64LE(license.address, 16);
    attr.view.writeUInt32LE(1, 24); // log_level: explain a rejection
    attr.view.writeUInt32LE(LOG_SIZE, 28);
    attr.view.writeBigUInt64LE(log.address, 32);
    attr.view.writeUInt32LE(BPF_CGROUP_DEVICE, 68); // expected_attach_type
    const { fd, errno } = bpf(BPF_PROG_LOAD, attr);
    if (fd < 0) {
      const verifier = log.view.toString('utf8', 0, log.view.indexOf(0)).trim();
      throw new CgroupError(`bpf(BPF_PROG_LOAD) of the device filter: errno ${errno}${verifier ? `: ${verifier}` : ''}`);
    }
    return fd;
  } finally {
    [code, license, log, attr].forEach((b) => b.free());
  }
}

/** Loads `insns` (a device filter) and attaches it to the cgroup v2 directory `dir`. */
export function attachDeviceFilter(dir: string, insns: Buffer): void {
  const progFd = loadProgram(insns);
  const cgroupFd = fs.openSync(dir, 'r');
  const attr = allocate(ATTR_SIZE);
  try {
    attr.view.writeUInt32LE(cgroupFd, 0);
    attr.view.writeUInt32LE(progFd, 4);
    attr.view.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
    attr.view.writeUInt32LE(BPF_F_ALLOW_MULTI, 12);
    const { fd, errno } = bpf(BPF_PROG_ATTACH, attr);
    if (fd < 0) throw new CgroupError(`bpf(BPF_PROG_ATTACH) of the device filter to ${dir}: errno ${errno}`);
  } finally {
    attr.free();
    fs.closeSync(cgroupFd);
    // The attachment holds its own reference to the program.
    fs.closeSync(progFd);
  }
}
