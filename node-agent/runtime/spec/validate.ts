/**
 * Validation of a bundle's config.json before anything is created. Every rejection is a
 * `SpecError` whose message starts with the offending field's path (`linux.namespaces[2].type: ...`).
 * Unknown fields are ignored as the runtime spec requires; known fields Berth cannot honour are
 * rejected as unsupported rather than silently dropped.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SUPPORTED_SECCOMP_ARCHES, SUPPORTED_SECCOMP_OPERATORS } from '../seccomp/compile';
import { hostHardLimits, RLIMIT_NAMES } from './rlimits';
import type { LinuxNamespaceType, RuntimeSpec } from './oci';
import { readFile } from '../small-files';

export class SpecError extends Error {
  constructor(
    readonly field: string,
    problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${problem}`, options);
    this.name = 'SpecError';
  }
}

/** Every capability Linux 6.x knows (capability.h, CAP_CHOWN = 0 … CAP_CHECKPOINT_RESTORE = 40). */
export const KNOWN_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];
const CAPABILITY_SET = new Set(KNOWN_CAPABILITIES);

const NAMESPACE_TYPES: readonly LinuxNamespaceType[] = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup'];
const PROPAGATIONS = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'];
const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
];
const SECCOMP_FLAGS = ['SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'];
/** Sysctls a container may set: only the ones its own IPC or network namespace isolates (runc's rule). */
const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax',
  'kernel.shmmni', 'kernel.shm_rmid_forced',
]);
const CPUSET = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Small typed accessors that throw a SpecError naming the field. */
class Fields {
  constructor(readonly at: string, readonly obj: Json) {}

  /** Array views name their elements `a[0]`, not `a.[0]`. */
  dotless = false;

  field(key: string): string {
    if (this.dotless) return `${this.at}${key}`;
    return this.at ? `${this.at}.${key}` : key;
  }

  object(key: string, required = false): Fields | undefined {
    const v = this.obj[key];
    if (v === undefined && !required) return undefined;
    if (!isObject(v)) throw new SpecError(this.field(key), 'must be an object');
    return new Fields(this.field(key), v);
  }

  string(key: string, required = false): string | undefined {
    const v = this.obj[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string') throw new SpecError(this.field(key), 'must be a string');
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.obj[key];
    if (v !== undefined && typeof v !== 'boolean') throw new SpecError(this.field(key), 'must be a boolean');
    return v as boolean | undefined;
  }

  int(key: string, opts: { required?: boolean; min?: number; max?: number } = {}): number | undefined {
    const v = this.obj[key];
    if (v === undefined && !opts.required) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new SpecError(this.field(key), 'must be an integer');
    if (opts.min !== undefined && v < opts.min) throw new SpecError(this.field(key), `must be >= ${opts.min}, got ${v}`);
    if (opts.max !== undefined && v > opts.max) throw new SpecError(this.field(key), `must be <= ${opts.max}, got ${v}`);
    return v;
  }

  array(key: string, required = false): unknown[] | undefined {
    const v = this.obj[key];
    if (v === undefined && !required) return undefined;
    if (!Array.isArray(v)) throw new SpecError(this.field(key), 'must be an array');
    return v;
  }

  strings(key: string): string[] | undefined {
    const list = this.array(key);
    // A plain loop: seccomp rules carry hundreds of names and this runs on every container start.
    for (let i = 0; i < (list?.length ?? 0); i++) {
      if (typeof list![i] !== 'string') throw new SpecError(`${this.field(key)}[${i}]`, 'must be a string');
    }
    return list as string[] | undefined;
  }

  /** Each element of an array of objects. */
  each(key: string, fn: (item: Fields, index: number) => void, required = false): void {
    this.array(key, required)?.forEach((item, i) => {
      const at = `${this.field(key)}[${i}]`;
      if (!isObject(item)) throw new SpecError(at, 'must be an object');
      fn(new Fields(at, item), i);
    });
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], required = false): T | undefined {
    const v = this.string(key, required);
    if (v !== undefined && !allowed.includes(v as T)) throw new SpecError(this.field(key), `unsupported ${JSON.stringify(v)}`);
    return v as T | undefined;
  }

  absolutePath(key: string, required = false): string | undefined {
    const v = this.string(key, required);
    if (v !== undefined && !path.isAbsolute(v)) throw new SpecError(this.field(key), `must be an absolute path, got ${JSON.stringify(v)}`);
    return v;
  }

  stringMap(key: string): void {
    const m = this.object(key);
    for (const [k, v] of Object.entries(m?.obj ?? {})) {
      if (typeof v !== 'string') throw new SpecError(`${m!.field(k)}`, 'must be a string');
    }
  }

  /** Each element of an array of scalars, checked through a Fields view of the array itself. */
  eachValue(key: string, fn: (items: Fields, index: string) => void): void {
    const list = this.array(key);
    if (!list) return;
    const items = new Fields(this.field(key), Object.fromEntries(list.map((v, i) => [`[${i}]`, v])));
    items.dotless = true;
    list.forEach((_, i) => fn(items, `[${i}]`));
  }

  unsupported(key: string): void {
    const v = this.obj[key];
    const empty = v === undefined || v === '' || (isObject(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0);
    if (!empty) throw new SpecError(this.field(key), 'unsupported by Berth');
  }
}

function checkProcess(p: Fields): void {
  const user = p.object('user', true)!;
  user.int('uid', { required: true, min: 0, max: 0xfffffffe });
  user.int('gid', { required: true, min: 0, max: 0xfffffffe });
  user.int('umask', { min: 0, max: 0o777 });
  user.eachValue('additionalGids', (gids, i) => gids.int(i, { required: true, min: 0, max: 0xfffffffe }));
  const args = p.strings('args');
  if (!args || args.length === 0) throw new SpecError(p.field('args'), 'must be a non-empty array');
  if (args[0] === '') throw new SpecError(`${p.field('args')}[0]`, 'must not be empty');
  p.absolutePath('cwd', true);
  p.strings('env')?.forEach((e, i) => {
    if (!e.includes('=')) throw new SpecError(`${p.field('env')}[${i}]`, `must be KEY=value, got ${JSON.stringify(e)}`);
  });
  p.bool('terminal');
  p.bool('noNewPrivileges');
  p.int('oomScoreAdj', { min: -1000, max: 1000 });
  p.unsupported('apparmorProfile');
  p.unsupported('selinuxLabel');
  const caps = p.object('capabilities');
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
    caps?.strings(set)?.forEach((c, i) => {
      if (!CAPABILITY_SET.has(c)) throw new SpecError(`${caps.field(set)}[${i}]`, `unknown capability ${JSON.stringify(c)}`);
    });
  }
  const hard = hostHardLimits();
  const seen = new Set<string>();
  p.each('rlimits', (r) => {
    const type = r.oneOf('type', RLIMIT_NAMES, true)!;
    if (seen.has(type)) throw new SpecError(r.field('type'), `duplicate ${type}`);
    seen.add(type);
    const soft = r.int('soft', { required: true, min: 0 })!;
    const max = r.int('hard', { required: true, min: 0 })!;
    if (soft > max) throw new SpecError(r.field('soft'), `${soft} is above the hard limit ${max}`);
    const hostMax = hard.get(type);
    // Raising a hard limit needs CAP_SYS_RESOURCE, which this host's bounding set lacks.
    if (hostMax !== undefined && max > hostMax) {
      throw new SpecError(r.field('hard'), `${max} is above the host's hard limit ${hostMax} for ${type}`);
    }
  });
}

function checkRoot(spec: Fields, bundleDir: string): string {
  const root = spec.object('root', true)!;
  const rel = root.string('path', true)!;
  if (rel === '') throw new SpecError(root.field('path'), 'must not be empty');
  root.bool('readonly');
  const rootfs = path.resolve(bundleDir, rel);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(rootfs);
  } catch (err) {
    throw new SpecError(root.field('path'), `rootfs ${rootfs} does not exist`, { cause: err });
  }
  if (!stat.isDirectory()) throw new SpecError(root.field('path'), `rootfs ${rootfs} is not a directory`);
  return rootfs;
}

function checkMounts(spec: Fields, bundleDir: string): void {
  spec.each('mounts', (m) => {
    m.absolutePath('destination', true);
    const type = m.string('type');
    const source = m.string('source');
    const options = m.strings('options') ?? [];
    if (type !== 'bind' && !options.includes('bind') && !options.includes('rbind')) return;
    if (!source) throw new SpecError(m.field('source'), 'a bind mount needs a source');
    mustExist(m.field('source'), path.resolve(bundleDir, source));
  });
}

function mustExist(field: string, file: string): void {
  try {
    fs.statSync(file);
  } catch (err) {
    throw new SpecError(field, `${file} does not exist`, { cause: err });
  }
}

function checkIdMappings(linux: Fields, key: string): void {
  linux.each(key, (m) => {
    m.int('containerID', { required: true, min: 0 });
    m.int('hostID', { required: true, min: 0 });
    m.int('size', { required: true, min: 1 });
  });
}

function checkResources(r: Fields): void {
  const mem = r.object('memory');
  const limit = mem?.int('limit', { min: -1 });
  if (limit === 0) throw new SpecError(mem!.field('limit'), 'must be positive or -1 (unlimited)');
  const swap = mem?.int('swap', { min: -1 });
  if (swap !== undefined && swap !== -1 && limit !== undefined && limit !== -1 && swap < limit) {
    throw new SpecError(mem!.field('swap'), `memory+swap ${swap} is below the memory limit ${limit}`);
  }
  mem?.int('reservation', { min: -1 });
  mem?.int('swappiness', { min: 0, max: 100 });
  mem?.bool('disableOOMKiller');
  const cpu = r.object('cpu');
  cpu?.int('shares', { min: 0, max: 262144 });
  cpu?.int('quota', { min: -1 });
  cpu?.int('period', { min: 1000, max: 1000000 });
  for (const key of ['cpus', 'mems']) {
    const set = cpu?.string(key);
    if (set !== undefined && set !== '' && !CPUSET.test(set)) throw new SpecError(cpu!.field(key), `invalid cpuset ${JSON.stringify(set)}`);
  }
  r.object('pids')?.int('limit', { required: true });
  r.each('devices', (d) => {
    if (typeof d.obj.allow !== 'boolean') throw new SpecError(d.field('allow'), 'must be a boolean');
    d.oneOf('type', ['a', 'c', 'b']);
    for (const key of ['major', 'minor']) {
      if (d.obj[key] !== null) d.int(key, { min: -1 });
    }
    const access = d.string('access');
    if (access !== undefined && !/^[rwm]*$/.test(access)) throw new SpecError(d.field('access'), `must combine r, w and m, got ${JSON.stringify(access)}`);
  });
  r.stringMap('unified');
}

function checkSeccomp(s: Fields): void {
  s.oneOf('defaultAction', SECCOMP_ACTIONS, true);
  s.int('defaultErrnoRet', { min: 0, max: 4095 });
  s.eachValue('architectures', (arches, i) => arches.oneOf(i, SUPPORTED_SECCOMP_ARCHES, true));
  s.eachValue('flags', (flags, i) => flags.oneOf(i, SECCOMP_FLAGS, true));
  s.unsupported('listenerPath');
  s.each('syscalls', (sc) => {
    const names = sc.strings('names');
    if (!names || names.length === 0) throw new SpecError(sc.field('names'), 'must be a non-empty array');
    const action = sc.oneOf('action', SECCOMP_ACTIONS, true);
    if (action === 'SCMP_ACT_NOTIFY') throw new SpecError(sc.field('action'), 'unsupported "SCMP_ACT_NOTIFY"');
    sc.int('errnoRet', { min: 0, max: 4095 });
    sc.each('args', (a) => {
      a.int('index', { required: true, min: 0, max: 5 });
      a.int('value', { required: true, min: 0 });
      a.int('valueTwo', { min: 0 });
      a.oneOf('op', SUPPORTED_SECCOMP_OPERATORS as string[], true);
    });
  });
}

function checkLinux(linux: Fields): void {
  const types = new Set<string>();
  linux.each('namespaces', (ns) => {
    const type = ns.oneOf('type', NAMESPACE_TYPES, true)!;
    if (types.has(type)) throw new SpecError(ns.field('type'), `duplicate namespace "${type}"`);
    types.add(type);
    const nsPath = ns.absolutePath('path');
    if (nsPath !== undefined) mustExist(ns.field('path'), nsPath);
  });
  checkIdMappings(linux, 'uidMappings');
  checkIdMappings(linux, 'gidMappings');
  const hasMappings = Boolean(linux.array('uidMappings')?.length && linux.array('gidMappings')?.length);
  const userNs = (linux.obj.namespaces as Json[] | undefined)?.find((n) => n.type === 'user');
  if (userNs && !userNs.path && !hasMappings) throw new SpecError(linux.field('uidMappings'), 'a new user namespace needs uidMappings and gidMappings');
  if (!userNs && hasMappings) throw new SpecError(linux.field('uidMappings'), 'mappings need a user namespace');
  linux.each('devices', (d) => {
    d.absolutePath('path', true);
    d.oneOf('type', ['c', 'b', 'u', 'p'], true);
    d.int('major');
    d.int('minor');
    d.int('fileMode', { min: 0, max: 0o7777 });
  });
  const cgroupsPath = linux.string('cgroupsPath');
  if (cgroupsPath?.split('/').includes('..')) throw new SpecError(linux.field('cgroupsPath'), 'must not contain ".."');
  const resources = linux.object('resources');
  if (resources) checkResources(resources);
  const seccomp = linux.object('seccomp');
  if (seccomp) checkSeccomp(seccomp);
  const sysctl = linux.object('sysctl');
  for (const [key, value] of Object.entries(sysctl?.obj ?? {})) {
    const at = sysctl!.field(key);
    if (typeof value !== 'string') throw new SpecError(at, 'must be a string');
    const ipc = IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.');
    if (ipc && !types.has('ipc')) throw new SpecError(at, 'needs a new IPC namespace');
    if (key.startsWith('net.') && !types.has('network')) throw new SpecError(at, 'needs a new network namespace');
    if (!ipc && !key.startsWith('net.')) throw new SpecError(at, 'unsupported: not isolated by the container\'s namespaces');
  }
  linux.oneOf('rootfsPropagation', PROPAGATIONS);
  linux.eachValue('maskedPaths', (paths, i) => paths.absolutePath(i, true));
  linux.eachValue('readonlyPaths', (paths, i) => paths.absolutePath(i, true));
  linux.unsupported('personality');
  linux.unsupported('intelRdt');
  linux.unsupported('mountLabel');
  linux.unsupported('timeOffsets');
}

/**
 * Check a parsed config.json for the bundle at `bundleDir`. Returns the spec with `root.path`
 * made absolute (resolved against the bundle). Throws `SpecError` for the first problem found.
 */
export function parseBundleConfig(json: unknown, bundleDir: string): RuntimeSpec {
  if (!isObject(json)) throw new SpecError('config.json', 'must be a JSON object');
  const spec = new Fields('', json);
  const version = spec.string('ociVersion', true)!;
  if (!/^1\.\d+\.\d+/.test(version)) throw new SpecError('ociVersion', `unsupported ${JSON.stringify(version)} (need 1.x)`);
  const proc = spec.object('process', true)!;
  checkProcess(proc);
  const rootfs = checkRoot(spec, bundleDir);
  const hostname = spec.string('hostname');
  // sethostname(2) takes at most HOST_NAME_MAX (64) bytes.
  if (hostname !== undefined && Buffer.byteLength(hostname) > 64) throw new SpecError('hostname', 'longer than 64 bytes');
  spec.string('domainname');
  checkMounts(spec, bundleDir);
  spec.unsupported('hooks');
  spec.stringMap('annotations');
  const linux = spec.object('linux', true)!;
  checkLinux(linux);
  const nsTypes = ((json.linux as Json).namespaces as Json[] | undefined)?.map((n) => n.type) ?? [];
  if (hostname && !nsTypes.includes('uts')) throw new SpecError('hostname', 'setting a hostname needs a new UTS namespace');
  const result = json as unknown as RuntimeSpec;
  return { ...result, root: { ...result.root!, path: rootfs } };
}

/** Read, parse and validate `<bundleDir>/config.json`. */
export function loadBundle(bundleDir: string): RuntimeSpec {
  const file = bundleConfigFile(bundleDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
  return parseBundleText(text, bundleDir);
}

/** `loadBundle` with the read off the event loop (the runtime's create). */
export async function loadBundleAsync(bundleDir: string): Promise<RuntimeSpec> {
  const file = bundleConfigFile(bundleDir);
  const text = await readFile(file, 'utf8').catch((err) => Promise.reject(unreadable(file, err)));
  return parseBundleText(text, bundleDir);
}

const bundleConfigFile = (bundleDir: string) => path.join(path.resolve(bundleDir), 'config.json');

const unreadable = (file: string, err: unknown) =>
  new SpecError('config.json', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });

function parseBundleText(text: string, bundleDir: string): RuntimeSpec {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SpecError('config.json', `invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseBundleConfig(json, path.resolve(bundleDir));
}
