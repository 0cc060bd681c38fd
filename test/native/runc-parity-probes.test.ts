/**
 * The same bundle under runc (the reference) and under Berth gives the same observable results for
 * probe programs: capabilities and security status, identity, hostname, env, rlimits, cgroup
 * membership and limits, mounts, seccomp/device errnos and exit statuses.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthRuntime, type ContainerRuntime, type ExitStatus } from '../../node-agent/runtime';
import { RuncRuntime } from '../../node-agent/runtime/runc';
import { defaultSpec, type DefaultSpecOptions } from '../../node-agent/runtime/spec';
import { installEscapeProbe, makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

const runtimes: ContainerRuntime[] = [new RuncRuntime(), new BerthRuntime()];
const started = new Map<string, ContainerRuntime>();
let bundle: Bundle;

beforeAll(() => {
  bundle = makeBundle();
  installEscapeProbe(bundle.rootfs);
});

afterAll(async () => {
  bundle.cleanup();
  // Remove what a failed test may have left, then insist nothing was left.
  for (const rt of runtimes) {
    const left = (await rt.list()).map((s) => s.id).filter((id) => started.get(id) === rt);
    for (const id of left) await rt.delete(id, { force: true });
    expect(left).toEqual([]);
  }
  for (const id of started.keys()) expect(fs.existsSync(`/sys/fs/cgroup/memory/berth/${id}`)).toBe(false);
});

/** Runs `args` (or the given `spec`) with the same config under both runtimes; returns { runc, berth } output with the id replaced by ID. */
async function underBoth(args: string[], opts: DefaultSpecOptions = {}, spec = defaultSpec({ args, ...opts })): Promise<Record<string, { out: string; exit: ExitStatus }>> {
  bundle.write(spec);
  const results: Record<string, { out: string; exit: ExitStatus }> = {};
  for (const rt of runtimes) {
    const id = uniqueId(`parity-${rt.name}`);
    started.set(id, rt);
    const file = path.join(bundle.dir, `${id}.out`);
    const exit = (await rt.run(id, bundle.dir, { stdio: { stdout: file, stderr: file } })) as ExitStatus;
    results[rt.name] = { out: fs.readFileSync(file, 'utf8').split(id).join('ID'), exit };
    fs.rmSync(file);
  }
  return results;
}

describe('runc parity: the same bundle, the same observations', () => {
  it('capabilities, NoNewPrivs, seccomp mode, uid/gids, hostname, cwd, env, rlimits', async () => {
    const script = 'grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status; id; hostname; pwd; env | sort; ulimit -n; ulimit -Hn';
    const r = await underBoth(['/bin/sh', '-c', script], { uid: 1000, gid: 1000, hostname: 'parity-host', cwd: '/tmp', env: ['GREETING=hi'] });
    expect(r.runc.out).toMatch(/uid=1000 gid=1000/);
    expect(r.runc.out).toMatch(/parity-host/);
    expect(r.berth.out).toBe(r.runc.out);
  });

  it('cgroup membership and the limit files seen from inside', async () => {
    const files = ['memory/memory.limit_in_bytes', 'memory/memory.memsw.limit_in_bytes', 'pids/pids.max', 'cpu/cpu.shares', 'cpu/cpu.cfs_quota_us', 'cpu/cpu.cfs_period_us', 'cpuset/cpuset.cpus'];
    const script = `grep -vE ":(name=systemd|):" /proc/self/cgroup; cd /sys/fs/cgroup; for f in ${files.join(' ')}; do echo "$f $(cat $f)"; done`;
    const resources = { memory: { limit: 48 << 20, swap: 64 << 20 }, pids: { limit: 33 }, cpu: { shares: 256, quota: 25000, period: 50000, cpus: '0' } };
    const r = await underBoth(['/bin/sh', '-c', script], { resources });
    expect(r.runc.out).toContain(`memory/memory.limit_in_bytes ${48 << 20}`);
    expect(r.runc.out).toContain('pids/pids.max 33');
    expect(r.runc.out).toContain('4:memory:/berth/ID');
    expect(r.berth.out).toBe(r.runc.out);
  });

  it('mounts: the same mount points and types, each at least as locked down as under runc', async () => {
    const r = await underBoth(['/bin/cat', '/proc/self/mounts']);
    const parse = (out: string) =>
      new Map(
        out
          .trim()
          .split('\n')
          .map((l) => l.split(' '))
          .map(([, dest, type, opts]) => [dest, { type, opts: new Set(opts.split(',')) }] as const),
      );
    const runc = parse(r.runc.out);
    const berth = parse(r.berth.out);
    // runc also mounts systemd's named cgroup hierarchy, which Berth does not manage.
    runc.delete('/sys/fs/cgroup/systemd');
    expect([...berth.keys()].sort()).toEqual([...runc.keys()].sort());
    for (const [dest, m] of runc) {
      const b = berth.get(dest)!;
      expect({ dest, type: b.type }).toEqual({ dest, type: m.type });
      for (const flag of ['ro', 'nosuid', 'nodev', 'noexec']) {
        if (m.opts.has(flag)) expect({ dest, flag, berth: b.opts.has(flag) }).toEqual({ dest, flag, berth: true });
      }
    }
  });

  it('read-only rootfs, oomScoreAdj, additional gids, custom rlimits', async () => {
    const spec = defaultSpec({ args: ['/bin/sh', '-c', 'touch /x 2>&1; cat /proc/self/oom_score_adj; id -G; ulimit -n; ulimit -Hn; ulimit -s'], readonlyRootfs: true });
    spec.process!.oomScoreAdj = 300;
    spec.process!.user.additionalGids = [10, 20];
    spec.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 256, hard: 512 }, { type: 'RLIMIT_STACK', soft: 4 << 20, hard: 4 << 20 }];
    const r = await underBoth([], {}, spec);
    expect(r.runc.out).toBe('touch: /x: Read-only file system\n300\n0 10 20\n256\n512\n4096\n');
    expect(r.berth.out).toBe(r.runc.out);
  });

  it('user namespace: root inside maps to an unprivileged host uid, without power over host-owned files', async () => {
    const spec = defaultSpec({ args: ['/bin/sh', '-c', 'id; cat /proc/self/uid_map /proc/self/gid_map; grep CapEff /proc/self/status; stat -c "%u %g" /bin/busybox; touch /bin/x 2>&1'] });
    spec.linux!.namespaces!.push({ type: 'user' });
    spec.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    spec.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    const r = await underBoth([], {}, spec);
    expect(r.runc.out).toMatch(/^uid=0\(root\) gid=0\(root\)\n\s+0\s+100000\s+65536\n/);
    expect(r.runc.out).toMatch(/65534 65534\ntouch: \/bin\/x: Permission denied\n$/);
    expect(r.berth.out).toBe(r.runc.out);
  });

  it('namespaced sysctls', async () => {
    const spec = defaultSpec({ args: ['/bin/cat', '/proc/sys/net/ipv4/ip_unprivileged_port_start', '/proc/sys/kernel/shmmax'] });
    spec.linux!.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '80', 'kernel.shmmax': '1234567' };
    const r = await underBoth([], {}, spec);
    expect(r.runc.out).toBe('80\n1234567\n');
    expect(r.berth.out).toBe(r.runc.out);
  });

  it('joins an existing network namespace by path', async () => {
    const netns = uniqueId('parity');
    execFileSync('ip', ['netns', 'add', netns]);
    try {
      execFileSync('ip', ['-n', netns, 'link', 'add', 'berth0', 'type', 'veth', 'peer', 'name', 'berth1']);
      const r = await underBoth(['/bin/sh', '-c', 'ip -o link | cut -d: -f2'], { namespacePaths: { network: `/var/run/netns/${netns}` } });
      expect(r.runc.out).toMatch(/^ lo\n berth1@berth0\n berth0@berth1\n$/);
      expect(r.berth.out).toBe(r.runc.out);
    } finally {
      execFileSync('ip', ['netns', 'del', netns]);
    }
    expect(fs.existsSync(`/var/run/netns/${netns}`)).toBe(false);
  });

  it('bind mounts: a source relative to the bundle, read-only, nosuid/nodev/noexec', async () => {
    fs.mkdirSync(path.join(bundle.dir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(bundle.dir, 'data', 'greeting'), 'hello from the host\n');
    const mounts = [{ destination: '/data', type: 'bind', source: 'data', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] }];
    const script = 'cat /data/greeting; touch /data/x 2>&1; grep " /data " /proc/self/mounts | cut -d" " -f2-4';
    const r = await underBoth(['/bin/sh', '-c', script], { mounts });
    expect(r.runc.out).toMatch(/^hello from the host\ntouch: \/data\/x: Read-only file system\n\/data \w+ ro,nosuid,nodev,noexec/);
    expect(r.berth.out).toBe(r.runc.out);
  });

  it('seccomp, capability and device-cgroup failures carry the same errnos', async () => {
    const attempts = ['mount', 'keyctl', 'clock', 'bpf', 'perf', 'procsys', 'sys', 'hostname', 'userns'];
    const r = await underBoth(['/bin/sh', '-c', attempts.map((a) => `/probe/escape ${a} 999999`).join('; ')]);
    expect(r.runc.out).toMatch(/keyctl EPERM/);
    expect(r.berth.out).toBe(r.runc.out);
  });

  it('the one deliberate difference: runc always lets a container mknod device nodes, Berth honours the config', async () => {
    // runc appends `c *:* m` and `b *:* m` to every device cgroup; defaultSpec leaves them out.
    const r = await underBoth(['/probe/escape', 'mknod']);
    expect(r.runc.out).toBe('mknod_sda OK\nmknod_mem OK\nmknod_fifo OK\n');
    expect(r.berth.out).toBe('mknod_sda EPERM\nmknod_mem EPERM\nmknod_fifo OK\n');
  });

  it('an allocation past the memory limit is OOM-killed and reported as such by both', async () => {
    const r = await underBoth(['/probe/escape', 'alloc'], { resources: { memory: { limit: 32 << 20, swap: 32 << 20 } } });
    expect(r.runc.exit).toEqual({ exitCode: 137, oomKilled: true });
    expect(r.berth.exit).toMatchObject({ exitCode: 137, oomKilled: true });
    expect(r.berth.out).toBe(r.runc.out);
  });

  it.each([
    ['exit 3', { exitCode: 3 }],
    // pid 1 of a pid namespace ignores SIGKILL sent from inside it: the shell survives.
    ['kill -9 $$; exit 0', { exitCode: 0 }],
    ['sh -c \'kill -9 $$\'; exit $?', { exitCode: 137 }],
  ])('exit status of `%s`', async (script, expected) => {
    const r = await underBoth(['/bin/sh', '-c', script]);
    expect(r.runc.exit).toEqual(expected);
    expect(r.berth.exit).toEqual(expected);
  });
});
