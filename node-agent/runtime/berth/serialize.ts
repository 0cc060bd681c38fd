/**
 * OCI spec → the shim's flat wire format (native/src/config.h): NUL-terminated tokens, each record an op and a
 * fixed number of arguments. All interpretation of the spec (option names, capability and rlimit names, the
 * cgroup mount, default devices) happens here, where it is unit-testable; the C side only executes values.
 */
import * as path from 'node:path';
import { RLIMIT_NAMES } from '../spec/rlimits';
import { KNOWN_CAPABILITIES } from '../spec/validate';
import type { LinuxCapabilities, LinuxDevice, Mount, POSIXRlimit, RuntimeSpec } from '../spec';
import type { ExecProcess, LogOptions } from '../types';
import { MS, PROPAGATION, parseMountOptions } from './mount-options';

class Tokens {
  private readonly parts: string[] = [];

  push(op: string, ...args: (string | number | bigint)[]): void {
    for (const a of [op, ...args]) {
      const s = String(a);
      if (s.includes('\0')) throw new Error(`${op}: a value contains a NUL byte`);
      this.parts.push(s);
    }
  }

  toBuffer(): Buffer {
    return Buffer.from(this.parts.map((p) => `${p}\0`).join(''), 'utf8');
  }
}

/** The device nodes every container gets (runc's AllowedDevices that are created). */
const DEFAULT_DEVICES: readonly LinuxDevice[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
];

const DEV_SYMLINKS: readonly [string, string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

/** Capability names → a 64-bit mask (KNOWN_CAPABILITIES is in capability-number order). */
export function capabilityMask(names: readonly string[] = []): bigint {
  let mask = 0n;
  for (const name of names) {
    const bit = KNOWN_CAPABILITIES.indexOf(name);
    if (bit < 0) throw new Error(`unknown capability ${name}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

function pushCapabilities(t: Tokens, caps: LinuxCapabilities | undefined): void {
  if (!caps) return;
  t.push(
    'caps',
    capabilityMask(caps.bounding),
    capabilityMask(caps.effective),
    capabilityMask(caps.permitted),
    capabilityMask(caps.inheritable),
    capabilityMask(caps.ambient),
  );
}

function pushRlimits(t: Tokens, rlimits: readonly POSIXRlimit[] = []): void {
  for (const r of rlimits) {
    const resource = (RLIMIT_NAMES as readonly string[]).indexOf(r.type);
    if (resource < 0) throw new Error(`unknown rlimit ${r.type}`);
    t.push('rlimit', resource, BigInt(r.soft), BigInt(r.hard));
  }
}

function pushProcess(t: Tokens, args: readonly string[], env: readonly string[], cwd: string): void {
  for (const a of args) t.push('arg', a);
  for (const e of env) t.push('env', e);
  t.push('cwd', cwd);
}

function pushUser(t: Tokens, user: { uid: number; gid: number; umask?: number; additionalGids?: readonly number[] }): void {
  t.push('user', user.uid, user.gid);
  if (user.umask !== undefined) t.push('umask', user.umask);
  for (const g of user.additionalGids ?? []) t.push('group', g);
}

/** Where the container's cgroup is (CgroupManager.version and .directories). */
export interface CgroupPlacement {
  readonly version: 1 | 2;
  readonly directories: readonly string[];
}

const CGROUP_MOUNT_FLAGS = MS.NOSUID | MS.NODEV | MS.NOEXEC;

/**
 * A `cgroup` mount on cgroup v1 cannot be mounted as one filesystem (the controllers are separate hierarchies):
 * like runc, a tmpfs with the container's own cgroup directory of each hierarchy bound into it, links for
 * co-mounted controllers (cpu → cpu,cpuacct), and the tmpfs made read-only at the end. On v2 the container's
 * directory is bound.
 */
function pushCgroupMount(t: Tokens, m: Mount, cgroups: CgroupPlacement): void {
  const { flags } = parseMountOptions(m.type, m.options);
  const ro = flags & MS.RDONLY;
  const cgroupDirs = cgroups.directories;
  if (cgroups.version === 2) {
    for (const dir of cgroupDirs) t.push('mount', dir, m.destination, '', MS.BIND | MS.REC | ro | CGROUP_MOUNT_FLAGS, 0, '');
    return;
  }
  t.push('mount', 'tmpfs', m.destination, 'tmpfs', CGROUP_MOUNT_FLAGS, 0, 'mode=755');
  for (const dir of cgroupDirs) {
    const hierarchy = path.basename(path.dirname(path.dirname(dir))); // /sys/fs/cgroup/<hierarchy>/berth/<id>
    const target = path.posix.join(m.destination, hierarchy);
    t.push('mount', dir, target, '', MS.BIND | MS.REC | ro | CGROUP_MOUNT_FLAGS, 0, '');
    if (hierarchy.includes(',')) {
      for (const part of hierarchy.split(',')) t.push('symlink', hierarchy, path.posix.join(m.destination, part));
    }
  }
  if (ro) t.push('mount', '', m.destination, '', MS.REMOUNT | MS.RDONLY | CGROUP_MOUNT_FLAGS, 0, 'mode=755');
}

function pushMounts(t: Tokens, spec: RuntimeSpec, bundle: string, cgroups: CgroupPlacement): void {
  let hasDevpts = false;
  for (const m of spec.mounts ?? []) {
    if (m.type === 'cgroup' || m.type === 'cgroup2') {
      pushCgroupMount(t, m, cgroups);
      continue;
    }
    const { flags, propagation, data, isBind } = parseMountOptions(m.type, m.options);
    // OCI: a relative bind source is relative to the bundle.
    const source = isBind && m.source && !path.isAbsolute(m.source) ? path.join(bundle, m.source) : (m.source ?? '');
    t.push('mount', source, m.destination, isBind ? '' : (m.type ?? ''), flags, propagation, data);
    if (m.type === 'devpts' && m.destination === '/dev/pts') hasDevpts = true;
  }
  for (const [target, link] of DEV_SYMLINKS) t.push('symlink', target, link);
  if (hasDevpts) t.push('symlink', 'pts/ptmx', '/dev/ptmx');
}

function pushDevices(t: Tokens, devices: readonly LinuxDevice[] = []): void {
  const byPath = new Map<string, LinuxDevice>();
  for (const d of [...DEFAULT_DEVICES, ...devices]) byPath.set(d.path, d);
  for (const d of byPath.values()) {
    t.push('device', d.path, d.type === 'u' ? 'c' : d.type, d.major ?? 0, d.minor ?? 0, d.fileMode ?? 0o666, d.uid ?? 0, d.gid ?? 0);
  }
}

/** SECCOMP_FILTER_FLAG_* (linux/seccomp.h) by the names the spec uses. */
const SECCOMP_FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
};

function pushSeccomp(t: Tokens, spec: RuntimeSpec, file: string | undefined): void {
  if (!file) return;
  t.push('seccomp', file);
  const flags = (spec.linux?.seccomp?.flags ?? []).reduce((all, name) => all | (SECCOMP_FLAGS[name] ?? 0), 0);
  if (flags) t.push('seccompflags', flags);
}

const idMap = (maps: readonly { containerID: number; hostID: number; size: number }[] = []): string =>
  maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');

export interface InitConfigInput {
  /** Validated spec (root.path absolute). */
  readonly spec: RuntimeSpec;
  readonly bundle: string;
  /** exec.fifo in the state directory. */
  readonly fifo: string;
  /** Where the shim records the exit status. */
  readonly exitFile: string;
  /** The compiled seccomp program (raw sock_filter[]), when the spec has one. */
  readonly seccompFile?: string;
  /** The container's cgroup: the shim puts the init in it, and a `cgroup` mount shows it. */
  readonly cgroups: CgroupPlacement;
  readonly init?: boolean;
  /** Allocate a pseudo-terminal (process.terminal without a terminal from the caller). */
  readonly allocateTerminal?: boolean;
  /** The shim writes the container's output to this log (native/src/logger.h). */
  readonly log?: LogOptions;
}

/** native/src/logger.h LOG_LINE_MAX: the shim's line buffer per stream. */
export const MAX_LOG_LINE_BYTES = 16 * 1024;

function pushLog(t: Tokens, log: LogOptions): void {
  const maxLine = log.maxLineBytes ?? MAX_LOG_LINE_BYTES;
  if (!(maxLine >= 1 && maxLine <= MAX_LOG_LINE_BYTES)) throw new Error(`log.maxLineBytes ${maxLine}: must be 1..${MAX_LOG_LINE_BYTES}`);
  t.push('log', log.path, log.maxBytes ?? 10 * 2 ** 20, log.maxFiles ?? 3, maxLine);
}

/** The `create` configuration of the shim. */
export function serializeInitConfig(input: InitConfigInput): Buffer {
  const { spec } = input;
  const proc = spec.process!;
  const linux = spec.linux ?? {};
  const t = new Tokens();
  t.push('mode', 'create');
  for (const ns of linux.namespaces ?? []) t.push('ns', ns.type, ns.path ?? '');
  if (linux.uidMappings?.length) t.push('uidmap', idMap(linux.uidMappings));
  if (linux.gidMappings?.length) t.push('gidmap', idMap(linux.gidMappings));
  // The shim puts the init in these while the init sets up its filesystem.
  for (const dir of input.cgroups.directories) t.push('cgroup', `${dir}/cgroup.procs`);
  const rootProp = linux.rootfsPropagation ? PROPAGATION[linux.rootfsPropagation] : 0;
  t.push('rootfs', spec.root!.path, spec.root!.readonly ? 1 : 0, rootProp);
  pushMounts(t, spec, input.bundle, input.cgroups);
  pushDevices(t, linux.devices);
  for (const p of linux.maskedPaths ?? []) t.push('mask', p);
  for (const p of linux.readonlyPaths ?? []) t.push('ro', p);
  if (spec.hostname) t.push('hostname', spec.hostname);
  if (spec.domainname) t.push('domainname', spec.domainname);
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) t.push('sysctl', `/proc/sys/${key.replace(/\./g, '/')}`, value);
  pushRlimits(t, proc.rlimits);
  if (proc.oomScoreAdj !== undefined) t.push('oom', proc.oomScoreAdj);
  pushUser(t, proc.user);
  pushCapabilities(t, proc.capabilities);
  if (proc.noNewPrivileges) t.push('nnp');
  pushSeccomp(t, spec, input.seccompFile);
  pushProcess(t, proc.args, proc.env ?? [], proc.cwd);
  t.push('fifo', input.fifo);
  t.push('exitfile', input.exitFile);
  if (input.init) t.push('init');
  if (input.log) pushLog(t, input.log);
  if (input.allocateTerminal) t.push('terminal', proc.consoleSize?.height ?? 0, proc.consoleSize?.width ?? 0);
  return t.toBuffer();
}

export interface ExecConfigInput {
  /** The container's spec: the defaults for everything `process` leaves out, and its restrictions. */
  readonly spec: RuntimeSpec;
  readonly process: ExecProcess;
  /** Host pid of the container's init, whose namespaces are joined. */
  readonly targetPid: number;
  /** cgroup.procs files of the container's cgroup. */
  readonly cgroupProcs: readonly string[];
  readonly seccompFile?: string;
}

/** The `exec` configuration of the shim: same user, capabilities, no_new_privs and seccomp as the container. */
export function serializeExecConfig(input: ExecConfigInput): Buffer {
  const base = input.spec.process!;
  const p = input.process;
  const t = new Tokens();
  t.push('mode', 'exec');
  t.push('target', input.targetPid);
  for (const f of input.cgroupProcs) t.push('cgroup', f);
  pushRlimits(t, base.rlimits);
  pushUser(t, p.user ?? base.user);
  pushCapabilities(t, base.capabilities);
  if (p.noNewPrivileges ?? base.noNewPrivileges) t.push('nnp');
  pushSeccomp(t, input.spec, input.seccompFile);
  pushProcess(t, p.args, p.env ?? base.env ?? [], p.cwd ?? base.cwd);
  if (p.terminal) t.push('terminal', p.consoleSize?.height ?? 0, p.consoleSize?.width ?? 0);
  return t.toBuffer();
}
