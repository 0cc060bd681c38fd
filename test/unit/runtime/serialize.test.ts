import { capabilityMask, serializeExecConfig, serializeInitConfig, type InitConfigInput } from '../../../node-agent/runtime/berth/serialize';
import { MS, parseMountOptions } from '../../../node-agent/runtime/berth/mount-options';
import { signalName, signalNumber } from '../../../node-agent/runtime/berth/proc';
import { defaultSpec, type RuntimeSpec } from '../../../node-agent/runtime/spec';

/** Decodes the wire format back into [op, ...args] records, given each op's arity (native/src/config.c). */
const ARITY: Record<string, number> = {
  mode: 1, ns: 2, uidmap: 1, gidmap: 1, rootfs: 3, mount: 6, symlink: 2, device: 7, mask: 1, ro: 1, hostname: 1, domainname: 1,
  sysctl: 2, rlimit: 3, oom: 1, user: 2, umask: 1, group: 1, caps: 5, nnp: 0, seccomp: 1, seccompflags: 1, arg: 1, env: 1, cwd: 1, fifo: 1,
  exitfile: 1, init: 0, terminal: 2, target: 1, cgroup: 1, log: 4,
};
function decode(buf: Buffer): string[][] {
  const tokens = buf.toString('utf8').split('\0');
  expect(tokens.pop()).toBe(''); // every token is NUL-terminated
  const records: string[][] = [];
  while (tokens.length) {
    const op = tokens.shift()!;
    expect(ARITY).toHaveProperty(op);
    records.push([op, ...tokens.splice(0, ARITY[op])]);
  }
  return records;
}

function input(spec: RuntimeSpec, extra: Partial<InitConfigInput> = {}): InitConfigInput {
  return {
    spec: { ...spec, root: { path: '/b/rootfs', readonly: spec.root?.readonly } },
    bundle: '/b',
    fifo: '/s/exec.fifo',
    exitFile: '/s/exit',
    cgroups: { version: 1, directories: ['/sys/fs/cgroup/memory/berth/c1', '/sys/fs/cgroup/cpu,cpuacct/berth/c1'] },
    ...extra,
  };
}

describe('parseMountOptions', () => {
  it.each([
    [undefined, ['nosuid', 'noexec', 'nodev'], MS.NOSUID | MS.NOEXEC | MS.NODEV, 0, '', false],
    ['tmpfs', ['nosuid', 'mode=755', 'size=65536k'], MS.NOSUID, 0, 'mode=755,size=65536k', false],
    ['bind', ['ro'], MS.BIND | MS.RDONLY, 0, '', true],
    [undefined, ['rbind', 'rprivate', 'ro', 'rw'], MS.BIND | MS.REC, MS.PRIVATE | MS.REC, '', true],
    ['devpts', ['newinstance', 'ptmxmode=0666', 'gid=5'], 0, 0, 'newinstance,ptmxmode=0666,gid=5', false],
  ])('type %s options %j', (type, options, flags, propagation, data, isBind) => {
    expect(parseMountOptions(type, options)).toEqual({ flags, propagation, data, isBind });
  });
});

describe('serializeInitConfig', () => {
  it('turns Docker\'s default spec into flat records, in the order the init needs them', () => {
    const records = decode(serializeInitConfig(input(defaultSpec({ args: ['sh', '-c', 'echo hi'], env: ['A=b'] }), { seccompFile: '/s/seccomp.bpf' })));
    const ops = records.map((r) => r[0]);
    expect(records[0]).toEqual(['mode', 'create']);
    expect(records.filter((r) => r[0] === 'ns')).toEqual([['ns', 'pid', ''], ['ns', 'network', ''], ['ns', 'ipc', ''], ['ns', 'uts', ''], ['ns', 'mount', '']]);
    expect(ops.indexOf('rootfs')).toBeLessThan(ops.indexOf('mount'));
    expect(records).toContainEqual(['mount', 'proc', '/proc', 'proc', String(MS.NOSUID | MS.NOEXEC | MS.NODEV), '0', '']);
    expect(records).toContainEqual(['mount', 'sysfs', '/sys', 'sysfs', String(MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RDONLY), '0', '']);
    expect(records).toContainEqual(['device', '/dev/null', 'c', '1', '3', String(0o666), '0', '0']);
    expect(records).toContainEqual(['symlink', 'pts/ptmx', '/dev/ptmx']);
    expect(records).toContainEqual(['mask', '/proc/kcore']);
    expect(records).toContainEqual(['ro', '/proc/sys']);
    expect(records).toContainEqual(['rlimit', '7', '1024', '1024']); // RLIMIT_NOFILE
    const mask = String(0xa80425fb);
    expect(records).toContainEqual(['caps', mask, mask, mask, '0', '0']);
    expect(records).toContainEqual(['nnp']);
    expect(records).toContainEqual(['seccomp', '/s/seccomp.bpf']);
    expect(records.filter((r) => r[0] === 'arg')).toEqual([['arg', 'sh'], ['arg', '-c'], ['arg', 'echo hi']]);
    expect(records.filter((r) => r[0] === 'env').map((r) => r[1])).toContain('A=b');
    expect(records.slice(-3)).toEqual([['cwd', '/'], ['fifo', '/s/exec.fifo'], ['exitfile', '/s/exit']]);
  });

  it('expands a cgroup v1 mount into a tmpfs with the container\'s own hierarchies bound read-only', () => {
    const records = decode(serializeInitConfig(input(defaultSpec())));
    const cg = records.filter((r) => (r[0] === 'mount' || r[0] === 'symlink') && r[2].startsWith('/sys/fs/cgroup'));
    const bindRo = String(MS.BIND | MS.REC | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
    expect(cg).toEqual([
      ['mount', 'tmpfs', '/sys/fs/cgroup', 'tmpfs', String(MS.NOSUID | MS.NODEV | MS.NOEXEC), '0', 'mode=755'],
      ['mount', '/sys/fs/cgroup/memory/berth/c1', '/sys/fs/cgroup/memory', '', bindRo, '0', ''],
      ['mount', '/sys/fs/cgroup/cpu,cpuacct/berth/c1', '/sys/fs/cgroup/cpu,cpuacct', '', bindRo, '0', ''],
      ['symlink', 'cpu,cpuacct', '/sys/fs/cgroup/cpu'],
      ['symlink', 'cpu,cpuacct', '/sys/fs/cgroup/cpuacct'],
      ['mount', '', '/sys/fs/cgroup', '', String(MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC), '0', 'mode=755'],
    ]);
  });

  it('carries user namespaces, id maps, joined namespaces, sysctls, relative bind sources and init', () => {
    const spec = defaultSpec({ namespacePaths: { network: '/proc/1/ns/net' } });
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 10, hostID: 5000, size: 1 }];
    spec.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
    spec.mounts!.push({ destination: '/data', source: 'data', options: ['bind'] });
    spec.domainname = 'example.org';
    spec.process!.consoleSize = { height: 24, width: 80 };
    spec.linux!.seccomp!.flags = ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'];
    const records = decode(serializeInitConfig(input(spec, { init: true, seccompFile: '/s/p.bpf', allocateTerminal: true })));
    expect(records).toContainEqual(['ns', 'network', '/proc/1/ns/net']);
    expect(records).toContainEqual(['ns', 'user', '']);
    expect(records).toContainEqual(['uidmap', '0 1000 10\n10 5000 1\n']);
    expect(records).toContainEqual(['sysctl', '/proc/sys/net/ipv4/ip_forward', '1']);
    expect(records).toContainEqual(['mount', '/b/data', '/data', '', String(MS.BIND), '0', '']);
    expect(records).toContainEqual(['init']);
    expect(records).toContainEqual(['domainname', 'example.org']);
    expect(records).toContainEqual(['seccompflags', '6']);
    expect(records).toContainEqual(['terminal', '24', '80']);
  });

  it('refuses values with NUL bytes, which the wire format cannot carry', () => {
    expect(() => serializeInitConfig(input(defaultSpec({ args: ['a\0b'] })))).toThrow(/NUL/);
  });

  it('passes the log with LogWriter\'s defaults, and refuses a line length the shim has no buffer for', () => {
    expect(decode(serializeInitConfig(input(defaultSpec(), { log: { path: '/l/0.log' } })))).toContainEqual(['log', '/l/0.log', String(10 * 2 ** 20), '3', '16384']);
    expect(decode(serializeInitConfig(input(defaultSpec(), { log: { path: '/l/0.log', maxBytes: 4096, maxFiles: 0, maxLineBytes: 5 } })))).toContainEqual(['log', '/l/0.log', '4096', '0', '5']);
    expect(() => serializeInitConfig(input(defaultSpec(), { log: { path: '/l/0.log', maxLineBytes: 16385 } }))).toThrow(/maxLineBytes/);
    expect(decode(serializeInitConfig(input(defaultSpec()))).some((r) => r[0] === 'log')).toBe(false);
  });
});

describe('serializeExecConfig', () => {
  it('takes the container\'s restrictions and the exec\'s own process', () => {
    const spec = defaultSpec({ uid: 7, gid: 8 });
    const records = decode(
      serializeExecConfig({ spec, process: { args: ['ls'], cwd: '/tmp' }, targetPid: 42, cgroupProcs: ['/sys/fs/cgroup/pids/berth/c1/cgroup.procs'], seccompFile: '/s/seccomp.bpf' }),
    );
    expect(records.slice(0, 3)).toEqual([['mode', 'exec'], ['target', '42'], ['cgroup', '/sys/fs/cgroup/pids/berth/c1/cgroup.procs']]);
    expect(records).toContainEqual(['user', '7', '8']);
    expect(records).toContainEqual(['nnp']);
    expect(records).toContainEqual(['seccomp', '/s/seccomp.bpf']);
    expect(records).toContainEqual(['arg', 'ls']);
    expect(records).toContainEqual(['cwd', '/tmp']);
    expect(records.map((r) => r[0])).not.toContain('ns'); // the shim joins every namespace the target does not share
  });
});

describe('capabilityMask and signals', () => {
  it('maps names to bits and signals both ways', () => {
    expect(capabilityMask(['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_ADMIN'])).toBe((1n << 0n) | (1n << 5n) | (1n << 21n));
    expect(() => capabilityMask(['CAP_BOGUS'])).toThrow(/CAP_BOGUS/);
    expect([signalNumber('TERM'), signalNumber('SIGKILL'), signalNumber('15'), signalNumber(2)]).toEqual([15, 9, 15, 2]);
    expect(signalName(9)).toBe('SIGKILL');
    expect(() => signalNumber('SIGNOPE')).toThrow(/unknown signal/);
  });
});
