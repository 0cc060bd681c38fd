/**
 * Compile a seccomp profile (OCI `linux.seccomp`, or Docker's conditional format) into the raw
 * classic-BPF program (`struct sock_filter[]`) that the C side installs with seccomp(2).
 */
import type { LinuxSeccomp, LinuxSeccompArg, SeccompAction, SeccompOperator } from '../spec/oci';
import * as libseccomp from './libseccomp';
import { resolveSeccompProfile, type SeccompProfile } from './profile';

const EPERM = 1;

export class SeccompError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SeccompError';
  }
}

/** libseccomp's SCMP_ACT_* encodings (seccomp.h). */
function actionCode(action: SeccompAction, errnoRet: number | undefined): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return 0x00000000;
    case 'SCMP_ACT_KILL_PROCESS':
      return 0x80000000;
    case 'SCMP_ACT_TRAP':
      return 0x00030000;
    case 'SCMP_ACT_ERRNO':
      return 0x00050000 | ((errnoRet ?? EPERM) & 0xffff);
    case 'SCMP_ACT_TRACE':
      return 0x7ff00000 | ((errnoRet ?? EPERM) & 0xffff);
    case 'SCMP_ACT_LOG':
      return 0x7ffc0000;
    case 'SCMP_ACT_ALLOW':
      return 0x7fff0000;
    case 'SCMP_ACT_NOTIFY':
      return 0x7fc00000;
    default:
      throw new SeccompError(`unsupported seccomp action ${JSON.stringify(action)}`);
  }
}

const OPERATORS: Record<SeccompOperator, number> = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
};

/** OCI architecture names → libseccomp's names for seccomp_arch_resolve_name. */
const ARCH_NAMES: Record<string, string> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_RISCV64: 'riscv64',
};

export const SUPPORTED_SECCOMP_ARCHES: readonly string[] = Object.keys(ARCH_NAMES);
export const SUPPORTED_SECCOMP_OPERATORS: readonly string[] = Object.keys(OPERATORS);

function toCompare(a: LinuxSeccompArg): libseccomp.ArgCompare {
  return { arg: a.index, op: OPERATORS[a.op], datumA: BigInt(a.value), datumB: BigInt(a.valueTwo ?? 0) };
}

/**
 * libseccomp refuses two comparisons on the same argument in one rule; like runc, such a rule
 * becomes one rule per comparison.
 */
function argGroups(args: readonly LinuxSeccompArg[] | undefined): libseccomp.ArgCompare[][] {
  if (!args?.length) return [[]];
  const indexes = new Set(args.map((a) => a.index));
  if (indexes.size === args.length) return [args.map(toCompare)];
  return args.map((a) => [toCompare(a)]);
}

function build(spec: LinuxSeccomp): Buffer {
  const defaultAction = actionCode(spec.defaultAction, spec.defaultErrnoRet);
  const ctx = libseccomp.init(defaultAction);
  try {
    for (const arch of spec.architectures ?? []) {
      const name = ARCH_NAMES[arch];
      const token = name ? libseccomp.archResolveName(name) : 0;
      if (!token) throw new SeccompError(`architecture ${JSON.stringify(arch)} is not supported by libseccomp`);
      libseccomp.archAdd(ctx, token, arch);
    }
    for (const rule of spec.syscalls ?? []) {
      const action = actionCode(rule.action, rule.errnoRet);
      // libseccomp rejects a rule whose action is the default one; it would change nothing anyway.
      if (action === defaultAction) continue;
      for (const name of rule.names) {
        // Unknown names are skipped, as runc does, so newer profiles still load on older hosts.
        const nr = libseccomp.syscallResolveName(name);
        if (nr === undefined) continue;
        for (const args of argGroups(rule.args)) libseccomp.ruleAdd(ctx, action, nr, args, name);
      }
    }
    return libseccomp.exportBpf(ctx);
  } finally {
    libseccomp.release(ctx);
  }
}

const CACHE_LIMIT = 32;
const cache = new Map<string, Buffer>();

/**
 * The BPF program for `spec` as raw `struct sock_filter[]` bytes (8 bytes an instruction).
 * Capability-conditioned rules (Docker's `includes`/`excludes`) are resolved against `caps`
 * (the container's bounding set). Results are cached by profile and capability set, because
 * compiling costs a few milliseconds on every container start. Throws `SeccompError` naming
 * the syscall or field libseccomp refused.
 */
export function compileSeccomp(spec: SeccompProfile | LinuxSeccomp, caps: readonly string[]): Buffer {
  const key = JSON.stringify([spec, [...caps].sort()]);
  const hit = cache.get(key);
  if (hit) return hit;
  let bpf: Buffer;
  try {
    bpf = build(resolveSeccompProfile(spec, caps));
  } catch (err) {
    if (err instanceof SeccompError) throw err;
    throw new SeccompError(`compiling the seccomp filter failed: ${(err as Error).message}`, { cause: err });
  }
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, bpf);
  return bpf;
}
