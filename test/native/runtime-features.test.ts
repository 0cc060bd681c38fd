/**
 * Berth's runtime, checked from inside real busybox containers: every feature of the OCI config it honours.
 * Each test rewrites the shared bundle's config.json, runs a probe script and asserts on what the container saw.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BerthRuntime, type ExitStatus } from '../../node-agent/runtime';
import { defaultSpec, type RuntimeSpec } from '../../node-agent/runtime/spec';
import { makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

let root: string;
let rt: BerthRuntime;
let bundle: Bundle;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rt-state-'));
  rt = new BerthRuntime({ root });
  bundle = makeBundle();
  fs.chmodSync(bundle.dir, 0o755); // the user-namespace test's root (host uid 100000) must reach the rootfs
});

afterAll(() => {
  bundle.cleanup();
  const left = fs.readdirSync(root);
  fs.rmSync(root, { recursive: true, force: true });
  expect(left).toEqual([]);
});

/** A spec running `sh -c script`, after `edit`. */
function specFor(script: string, edit?: (spec: RuntimeSpec) => void): RuntimeSpec {
  const spec = defaultSpec({ rootfs: 'rootfs', args: ['sh', '-c', script] });
  edit?.(spec);
  return spec;
}

/** Runs `script` to completion in a fresh container; returns its output (stdout+stderr) and exit status. */
async function probe(script: string, edit?: (spec: RuntimeSpec) => void): Promise<{ out: string; status: ExitStatus; id: string }> {
  const id = uniqueId('feat');
  bundle.write(specFor(script, edit));
  const out = path.join(bundle.dir, `${id}.out`);
  const status = (await rt.run(id, bundle.dir, { stdio: { stdout: out, stderr: out } })) as ExitStatus;
  const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  fs.rmSync(out, { force: true });
  return { out: text, status, id };
}

const hostNs = (n: string): string => fs.readlinkSync(`/proc/self/ns/${n}`);
const NS = ['pid', 'net', 'mnt', 'uts', 'ipc'];

test('namespaces are the container\'s own and ps sees only its processes', async () => {
  const { out, status } = await probe(`for n in ${NS.join(' ')}; do readlink /proc/self/ns/$n; done; echo ---; ps -o pid,args; true`);
  expect(status.exitCode).toBe(0);
  const [links, ps] = out.split('---\n');
  const seen = links.trim().split('\n');
  NS.forEach((n, i) => {
    expect(seen[i]).toMatch(new RegExp(`^${n}:\\[\\d+\\]$`));
    expect(seen[i]).not.toBe(hostNs(n));
  });
  const procs = ps.trim().split('\n').slice(1).map((l) => l.trim());
  expect(procs).toHaveLength(2); // the shell (pid 1) and ps itself (`; true` keeps busybox sh from exec'ing ps)
  expect(procs[0]).toMatch(/^1 sh -c/);
});

test('hostname, domainname, env, cwd, uid/gid/additionalGids, oomScoreAdj and rlimits come from the config', async () => {
  const { out, status } = await probe('hostname; cat /proc/sys/kernel/domainname; echo $GREETING; pwd; id -u; id -g; id -G; cat /proc/self/oom_score_adj; ulimit -Sn; ulimit -Hn; umask', (s) => {
    s.hostname = 'berth-probe';
    s.domainname = 'example.org';
    s.process!.env!.push('GREETING=hello there');
    s.process!.cwd = '/tmp';
    s.process!.user = { uid: 1000, gid: 1001, additionalGids: [10, 20], umask: 0o027 };
    s.process!.oomScoreAdj = 500;
    s.process!.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 1000 }];
  });
  expect(status.exitCode).toBe(0);
  expect(out.trim().split('\n')).toEqual(['berth-probe', 'example.org', 'hello there', '/tmp', '1000', '1001', '1001 10 20', '500', '512', '1000', '0027']);
});

test('capabilities default to Docker\'s set, with no_new_privs and seccomp filtering', async () => {
  const { out } = await probe("grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status");
  const status = Object.fromEntries(out.trim().split('\n').map((l) => l.split(/:\s+/)));
  // Docker's 14 default capabilities (chown dac_override fowner fsetid kill setgid setuid setpcap net_bind_service
  // net_raw sys_chroot mknod audit_write setfcap) are bits 0x00000000a80425fb.
  expect(status).toEqual({
    CapInh: '0000000000000000',
    CapPrm: '00000000a80425fb',
    CapEff: '00000000a80425fb',
    CapBnd: '00000000a80425fb',
    CapAmb: '0000000000000000',
    NoNewPrivs: '1',
    Seccomp: '2',
  });
});

test('each capability set is applied separately, ambient ones survive a non-root exec', async () => {
  const { out } = await probe("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status", (s) => {
    s.process!.user = { uid: 1000, gid: 1000 };
    s.process!.capabilities = {
      bounding: ['CAP_NET_BIND_SERVICE', 'CAP_KILL', 'CAP_CHOWN'],
      permitted: ['CAP_NET_BIND_SERVICE', 'CAP_KILL'],
      inheritable: ['CAP_NET_BIND_SERVICE'],
      effective: ['CAP_NET_BIND_SERVICE', 'CAP_KILL'],
      ambient: ['CAP_NET_BIND_SERVICE'],
    };
    delete s.linux!.seccomp; // the default profile is resolved against the default caps
  });
  const caps = Object.fromEntries(out.trim().split('\n').map((l) => l.split(/:\s+/)));
  // CHOWN = bit 0, KILL = bit 5, NET_BIND_SERVICE = bit 10. A non-root exec keeps only the ambient set.
  expect(caps).toEqual({
    CapInh: '0000000000000400',
    CapPrm: '0000000000000400',
    CapEff: '0000000000000400',
    CapBnd: '0000000000000421',
    CapAmb: '0000000000000400',
  });
});

test('standard mounts, device nodes, masked and read-only paths', async () => {
  const { out } = await probe(
    [
      'cat /proc/mounts',
      'echo ---',
      'touch /sys/x 2>&1',
      'echo 1 > /proc/sys/kernel/domainname 2>&1',
      'echo keys=$(wc -c < /proc/keys)',
      'echo acpi=$(ls -A /proc/acpi | wc -l)',
      'stat -c "%F %t:%T %a" /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty',
      'readlink /dev/ptmx; readlink /dev/fd',
      'echo shm > /dev/shm/x && cat /dev/shm/x',
    ].join('; '),
  );
  const [mounts, rest] = out.split('---\n');
  const byTarget = new Map(mounts.trim().split('\n').map((l) => l.split(' ')).map((f) => [f[1], f]));
  expect(byTarget.get('/proc')?.[2]).toBe('proc');
  expect(byTarget.get('/proc')?.[3]).toMatch(/^rw,nosuid,nodev,noexec/);
  expect(byTarget.get('/sys')?.slice(2, 4).join(' ')).toMatch(/^sysfs ro,nosuid,nodev,noexec/);
  expect(byTarget.get('/dev')?.slice(2, 4).join(' ')).toMatch(/^tmpfs rw,nosuid/);
  expect(byTarget.get('/dev/pts')?.[2]).toBe('devpts');
  expect(byTarget.get('/dev/shm')?.[2]).toBe('tmpfs');
  expect(byTarget.get('/dev/mqueue')?.[2]).toBe('mqueue');
  expect(byTarget.get('/sys/fs/cgroup/memory')?.[3]).toMatch(/^ro,/);
  expect(byTarget.get('/proc/sys')?.[3]).toMatch(/^ro,/);
  expect(byTarget.get('/proc/keys')?.[2]).toBe('tmpfs'); // /dev/null (on the container's /dev tmpfs) covers it
  expect(rest).toContain("touch: /sys/x: Read-only file system");
  expect(rest).toMatch(/domainname: Read-only file system/);
  expect(rest).toContain('keys=0'); // /proc/kcore is masked the same way where the kernel has it
  expect(rest).toContain('acpi=0');
  expect(rest).toContain(
    ['character special file 1:3 666', 'character special file 1:5 666', 'character special file 1:7 666',
      'character special file 1:8 666', 'character special file 1:9 666', 'character special file 5:0 666'].join('\n'),
  );
  expect(rest).toContain('pts/ptmx\n/proc/self/fd');
  expect(rest).toContain('shm\n');
});

test('root.readonly, and bind mounts honour ro/rw/nosuid', async () => {
  const ro = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-ro-'));
  const rw = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-rw-'));
  fs.writeFileSync(path.join(ro, 'hello'), 'from the host\n');
  try {
    const { out } = await probe('touch /x 2>&1; cat /data/hello; touch /data/y 2>&1; echo written > /rw/out; grep -E " /(data|rw|tmp) " /proc/mounts', (s) => {
      s.root!.readonly = true;
      s.mounts!.push(
        { destination: '/data', type: 'bind', source: ro, options: ['rbind', 'ro', 'nosuid'] },
        { destination: '/rw', type: 'bind', source: rw, options: ['bind', 'rw'] },
        { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'size=1m'] },
      );
    });
    expect(out).toContain('touch: /x: Read-only file system');
    expect(out).toContain('from the host');
    expect(out).toContain('touch: /data/y: Read-only file system');
    expect(out).toMatch(/ \/data \S+ ro,nosuid/);
    expect(out).toMatch(/ \/rw \S+ rw/);
    expect(out).toMatch(/^tmpfs \/tmp tmpfs rw,nosuid,nodev/m);
    expect(fs.readFileSync(path.join(rw, 'out'), 'utf8')).toBe('written\n');
  } finally {
    fs.rmSync(ro, { recursive: true, force: true });
    fs.rmSync(rw, { recursive: true, force: true });
  }
});

test('the process inherits only its stdio: no fd of the runtime reaches the container', async () => {
  const { out } = await probe('ls /proc/self/fd | tr "\\n" " "');
  expect(out.trim()).toBe('0 1 2 3'); // 3 is ls' own handle on /proc/self/fd
});

test('process.terminal gets a pseudo-terminal of the container\'s devpts, with the configured size', async () => {
  const { out, status } = await probe('tty; test -t 0 && test -t 1 && test -t 2 && echo all-terminals; stty size; exit 3', (s) => {
    s.process!.terminal = true;
    s.process!.consoleSize = { height: 30, width: 100 };
  });
  expect(out.split('\r\n')).toEqual(['/dev/pts/0', 'all-terminals', '30 100', '']);
  expect(status.exitCode).toBe(3);
});

test('exit codes are reported', async () => {
  expect((await probe('exit 42')).status).toEqual({ exitCode: 42 });
  expect((await probe('exec /no/such/program')).status.exitCode).toBe(127);
});

test('cgroup limits apply below berth/<id> and are visible in the container', async () => {
  const { out, id } = await probe(
    'cat /proc/self/cgroup; for f in memory/memory.limit_in_bytes pids/pids.max cpu/cpu.cfs_quota_us cpu/cpu.shares; do cat /sys/fs/cgroup/$f; done',
    (s) => {
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 64 << 20 }, pids: { limit: 32 }, cpu: { shares: 512, quota: 50000, period: 100000 } };
    },
  );
  const lines = out.trim().split('\n');
  expect(lines).toContain(`${lines.find((l) => l.includes(':memory:'))!.split(':')[0]}:memory:/berth/${id}`);
  expect(lines.slice(-4)).toEqual([String(64 << 20), '32', '50000', '512']);
});

test('an allocation past the memory limit is OOM-killed and reported', async () => {
  const { status } = await probe('dd if=/dev/zero of=/dev/null bs=64M count=1; echo survived', (s) => {
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 16 << 20, swap: 16 << 20 } };
  });
  // dd is the shell's child; the shell exits with dd's status (137) only because `echo` still runs… unless the
  // kernel picks the shell: either way the cgroup recorded an OOM kill.
  expect(status.oomKilled).toBe(true);
});

test('a fork bomb stops at the pids limit', async () => {
  // The subshell forks until the kernel refuses (busybox sh then gives up and exits); its sleeps stay. Only
  // builtins after that: at the limit, even a $(...) cannot fork.
  const script = '(for i in $(seq 40); do sleep 30 & done) 2>/dev/null; read c < /sys/fs/cgroup/pids/pids.current; read e < /sys/fs/cgroup/pids/pids.events; echo "current=$c $e"';
  const { out } = await probe(script, (s) => {
    s.linux!.resources = { ...s.linux!.resources, pids: { limit: 12 } };
  });
  const [, current, refused] = /current=(\d+) max (\d+)/.exec(out)!;
  expect(Number(current)).toBeGreaterThanOrEqual(10); // the shell + the sleeps left when the subshell died
  expect(Number(current)).toBeLessThanOrEqual(12);
  expect(Number(refused)).toBeGreaterThanOrEqual(1);
});

test('a user namespace maps root to the configured host ids', async () => {
  const { out, status } = await probe('cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox; hostname', (s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
    s.linux!.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  });
  expect(status.exitCode).toBe(0);
  const lines = out.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '));
  expect(lines).toEqual(['0 100000 65536', '0 100000 65536', '0', '65534', 'berth']);
});

test('sysctls of the container\'s own namespaces are set', async () => {
  const { out } = await probe('cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmni', (s) => {
    s.linux!.sysctl = { 'net.ipv4.ip_unprivileged_port_start': '80', 'kernel.shmmni': '2048' };
  });
  expect(out.trim().split('\n')).toEqual(['80', '2048']);
});

test('mount targets are resolved inside the rootfs: an image symlink cannot aim a mount at the host', async () => {
  const host = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-escape-target-'));
  // From the host these point at `host`; in the container, at rootfs/<host> and rootfs/<host>/../rel-target.
  fs.symlinkSync(host, path.join(bundle.rootfs, 'evil'));
  fs.symlinkSync(`../../..${host}/../rel-target`, path.join(bundle.rootfs, 'tmp', 'evil-rel'));
  try {
    const { out, status } = await probe('grep -E " (/evil|/tmp/evil-rel)/sub |berth-escape|rel-target" /proc/mounts', (s) => {
      s.mounts!.push(
        { destination: '/evil/sub', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
        { destination: '/tmp/evil-rel/sub', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
      );
    });
    expect(status.exitCode).toBe(0);
    expect(out).toMatch(new RegExp(`^tmpfs ${host}/sub tmpfs`, 'm')); // landed at rootfs/<host>/sub
    expect(out).toMatch(new RegExp(`^tmpfs ${path.dirname(host)}/rel-target/sub tmpfs`, 'm'));
    expect(fs.existsSync(path.join(host, 'sub'))).toBe(false); // nothing was created on the host
    expect(fs.existsSync(path.join(path.dirname(host), 'rel-target'))).toBe(false);
    expect(fs.existsSync(path.join(bundle.rootfs, host, 'sub'))).toBe(true);
  } finally {
    fs.unlinkSync(path.join(bundle.rootfs, 'evil'));
    fs.unlinkSync(path.join(bundle.rootfs, 'tmp', 'evil-rel'));
    fs.rmSync(path.join(bundle.rootfs, host), { recursive: true, force: true });
    fs.rmSync(path.join(bundle.rootfs, path.dirname(host), 'rel-target'), { recursive: true, force: true });
    fs.rmSync(host, { recursive: true, force: true });
  }
});

test('a cgroup namespace is rooted at the container\'s own cgroup', async () => {
  const { out } = await probe('grep -E ":(memory|pids):" /proc/self/cgroup', (s) => {
    s.linux!.namespaces!.push({ type: 'cgroup' });
  });
  expect(out.trim().split('\n').map((l) => l.split(':').slice(1).join(':')).sort()).toEqual(['memory:/', 'pids:/']);
});
