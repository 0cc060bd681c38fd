import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSpec, parseBundleConfig, loadBundle, SpecError, DEFAULT_CAPABILITIES } from '../../../node-agent/runtime/spec';

let bundle: string;
beforeAll(() => {
  bundle = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-spec-'));
  fs.mkdirSync(path.join(bundle, 'rootfs'));
});
afterAll(() => {
  fs.rmSync(bundle, { recursive: true, force: true });
  expect(fs.existsSync(bundle)).toBe(false);
});

/** A default config with one change applied to a deep copy. */
function mutated(change: (spec: any) => void): unknown {
  const spec = structuredClone(defaultSpec({ args: ['/bin/true'] })) as any;
  change(spec);
  return spec;
}

describe('parseBundleConfig', () => {
  it('accepts the default spec and resolves root.path against the bundle', () => {
    const spec = parseBundleConfig(mutated(() => {}), bundle);
    expect(spec.root!.path).toBe(path.join(bundle, 'rootfs'));
    expect(spec.process!.args).toEqual(['/bin/true']);
  });

  it.each<[string, (s: any) => void, string]>([
    ['not an object', () => {}, 'config.json: must be a JSON object'],
    ['empty args', (s) => (s.process.args = []), 'process.args: must be a non-empty array'],
    ['args not strings', (s) => (s.process.args = ['/bin/true', 3]), 'process.args[1]: must be a string'],
    ['missing process', (s) => delete s.process, 'process: must be an object'],
    ['relative cwd', (s) => (s.process.cwd = 'tmp'), 'process.cwd: must be an absolute path'],
    ['negative uid', (s) => (s.process.user.uid = -1), 'process.user.uid: must be >= 0'],
    ['bad additional gid', (s) => (s.process.user.additionalGids = [1, 'x']), 'process.user.additionalGids[1]: must be an integer'],
    ['env without =', (s) => (s.process.env = ['PATH']), 'process.env[0]: must be KEY=value'],
    ['unknown capability', (s) => s.process.capabilities.effective.push('CAP_FLY'), 'process.capabilities.effective[14]: unknown capability "CAP_FLY"'],
    ['rlimit above host hard limit', (s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 1024, hard: 1 << 30 }]), 'process.rlimits[0].hard: 1073741824 is above the host\'s hard limit'],
    ['rlimit soft above hard', (s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 }]), 'process.rlimits[0].soft: 2048 is above the hard limit 1024'],
    ['unknown rlimit', (s) => (s.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }]), 'process.rlimits[0].type: unsupported "RLIMIT_FOO"'],
    ['rootfs missing', (s) => (s.root.path = 'nope'), 'root.path: rootfs'],
    ['relative mount destination', (s) => s.mounts.push({ destination: 'data', type: 'tmpfs', source: 'tmpfs' }), 'mounts[7].destination: must be an absolute path'],
    ['bind mount without source', (s) => s.mounts.push({ destination: '/data', type: 'bind' }), 'mounts[7].source: a bind mount needs a source'],
    ['bind mount source missing', (s) => s.mounts.push({ destination: '/data', source: 'nope', options: ['rbind'] }), 'mounts[7].source: '],
    ['namespace path missing', (s) => (s.linux.namespaces[1].path = '/proc/999999999/ns/net'), 'linux.namespaces[1].path: /proc/999999999/ns/net does not exist'],
    ['cgroupsPath escaping', (s) => (s.linux.cgroupsPath = '/berth/../../x'), 'linux.cgroupsPath: must not contain ".."'],
    ['long hostname', (s) => (s.hostname = 'h'.repeat(65)), 'hostname: longer than 64 bytes'],
    ['unknown namespace', (s) => (s.linux.namespaces[2].type = 'foo'), 'linux.namespaces[2].type: unsupported "foo"'],
    ['duplicate namespace', (s) => s.linux.namespaces.push({ type: 'pid' }), 'linux.namespaces[5].type: duplicate namespace "pid"'],
    ['relative namespace path', (s) => (s.linux.namespaces[0].path = 'proc/1/ns/pid'), 'linux.namespaces[0].path: must be an absolute path'],
    ['user ns without mappings', (s) => s.linux.namespaces.push({ type: 'user' }), 'linux.uidMappings: a new user namespace needs uidMappings and gidMappings'],
    ['hostname without uts', (s) => (s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'uts')), 'hostname: setting a hostname needs a new UTS namespace'],
    ['zero memory limit', (s) => (s.linux.resources.memory = { limit: 0 }), 'linux.resources.memory.limit: must be positive'],
    ['swap below limit', (s) => (s.linux.resources.memory = { limit: 100 << 20, swap: 50 << 20 }), 'linux.resources.memory.swap: memory+swap'],
    ['bad cpuset', (s) => (s.linux.resources.cpu = { cpus: '0-a' }), 'linux.resources.cpu.cpus: invalid cpuset "0-a"'],
    ['bad device access', (s) => (s.linux.resources.devices[0].access = 'rwx'), 'linux.resources.devices[0].access: must combine r, w and m'],
    ['unknown seccomp action', (s) => (s.linux.seccomp.syscalls[0].action = 'SCMP_ACT_MAYBE'), 'linux.seccomp.syscalls[0].action: unsupported "SCMP_ACT_MAYBE"'],
    ['unknown seccomp arch', (s) => (s.linux.seccomp.architectures = ['SCMP_ARCH_Z80']), 'linux.seccomp.architectures[0]: unsupported "SCMP_ARCH_Z80"'],
    ['seccomp arg index', (s) => (s.linux.seccomp.syscalls[0].args = [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }]), 'linux.seccomp.syscalls[0].args[0].index: must be <= 5'],
    ['host sysctl', (s) => (s.linux.sysctl = { 'kernel.panic': '1' }), 'linux.sysctl.kernel.panic: unsupported'],
    ['relative masked path', (s) => s.linux.maskedPaths.push('proc/kcore'), 'linux.maskedPaths[11]: must be an absolute path'],
    ['hooks', (s) => (s.hooks = { prestart: [{ path: '/bin/true' }] }), 'hooks: unsupported by Berth'],
    ['old version', (s) => (s.ociVersion = '0.5.0'), 'ociVersion: unsupported "0.5.0"'],
    ['bad propagation', (s) => (s.linux.rootfsPropagation = 'sideways'), 'linux.rootfsPropagation: unsupported "sideways"'],
  ])('rejects %s', (name, change, message) => {
    const input = name === 'not an object' ? [] : mutated(change);
    let caught: unknown;
    try {
      parseBundleConfig(input, bundle);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SpecError);
    expect((caught as Error).message.startsWith(message)).toBe(true);
  });

  it('accepts namespace-isolated sysctls', () => {
    expect(() => parseBundleConfig(mutated((s) => (s.linux.sysctl = { 'net.ipv4.ip_forward': '0', 'kernel.shmmax': '1000' })), bundle)).not.toThrow();
  });
});

describe('loadBundle', () => {
  it('names malformed JSON', () => {
    fs.writeFileSync(path.join(bundle, 'config.json'), '{"ociVersion": ');
    expect(() => loadBundle(bundle)).toThrow(/^config\.json: invalid JSON/);
  });
  it('reads a valid config.json', () => {
    fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify(defaultSpec()));
    expect(loadBundle(bundle).process!.args).toEqual(['sh']);
  });
});

describe('defaultSpec', () => {
  const spec = defaultSpec();
  it('uses Docker\'s capability set, noNewPrivileges and nofile 1024:1024', () => {
    expect(spec.process!.capabilities!.bounding).toEqual(DEFAULT_CAPABILITIES);
    expect(spec.process!.capabilities!.effective).not.toContain('CAP_SYS_ADMIN');
    expect(spec.process!.noNewPrivileges).toBe(true);
    expect(spec.process!.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
  });
  it('denies every device but the standard nodes, without Docker\'s blanket mknod rules', () => {
    const rules = spec.linux!.resources!.devices!;
    expect(rules[0]).toEqual({ allow: false, access: 'rwm' });
    expect(rules.slice(1).every((r) => r.allow && r.type === 'c' && typeof r.major === 'number')).toBe(true);
    expect(rules).toContainEqual({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' });
  });

  it('masks /proc/kcore, makes /proc/sys read-only and mounts /sys read-only', () => {
    expect(spec.linux!.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux!.readonlyPaths).toContain('/proc/sys');
    expect(spec.mounts!.find((m) => m.destination === '/sys')!.options).toContain('ro');
  });
  it('carries a resolved seccomp profile: EPERM by default, no mount or keyctl, ptrace allowed', () => {
    const sc = spec.linux!.seccomp!;
    expect(sc.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(sc.defaultErrnoRet).toBe(1);
    const allowed = new Set(sc.syscalls!.filter((r) => r.action === 'SCMP_ACT_ALLOW' && !r.args).flatMap((r) => r.names));
    expect(allowed.has('read')).toBe(true);
    expect(allowed.has('mount')).toBe(false);
    expect(allowed.has('keyctl')).toBe(false);
    expect(allowed.has('ptrace')).toBe(true);
    expect(sc.syscalls!.some((r) => 'includes' in r || 'excludes' in r)).toBe(false);
  });
  it('puts every namespace Docker uses and joins given paths', () => {
    const s = defaultSpec({ namespacePaths: { network: '/proc/1/ns/net' } });
    expect(s.linux!.namespaces).toContainEqual({ type: 'network', path: '/proc/1/ns/net' });
    expect(s.linux!.namespaces!.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
  });
});
