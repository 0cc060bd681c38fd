/**
 * Escape attempts from inside real containers started by the Berth runtime with the default
 * configuration (defaultSpec: Docker's caps, seccomp profile, masked/read-only paths, NoNewPrivs).
 * Each attempt runs in its own container and asserts the precise failure. busybox applets lie about
 * exit codes, so raw syscalls go through a static C probe (installEscapeProbe) printing errno names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthRuntime, type ExitStatus } from '../../node-agent/runtime';
import { createCgroupManager } from '../../node-agent/runtime/cgroups';
import { defaultSpec, type DefaultSpecOptions } from '../../node-agent/runtime/spec';
import { installEscapeProbe, makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';


const rt = new BerthRuntime();
let bundle: Bundle;
const hostPid = process.pid;
const started: string[] = [];

beforeAll(() => {
  bundle = makeBundle();
  installEscapeProbe(bundle.rootfs);
  // A setuid-root copy, to try regaining privileges as an unprivileged user.
  fs.copyFileSync(path.join(bundle.rootfs, 'probe/escape'), path.join(bundle.rootfs, 'probe/escape-suid'));
  fs.chmodSync(path.join(bundle.rootfs, 'probe/escape-suid'), 0o4755);
});

afterAll(async () => {
  bundle.cleanup();
  // Remove what a failed test may have left, then insist nothing was left.
  const left = (await rt.list()).filter((s) => started.includes(s.id));
  for (const s of left) await rt.delete(s.id, { force: true });
  expect(left).toEqual([]);
  for (const id of started) expect(fs.existsSync(`/sys/fs/cgroup/memory/berth/${id}`)).toBe(false);
});

/** Runs `args` in a fresh default container; resolves with its output and exit status. */
async function inContainer(args: string[], opts: DefaultSpecOptions = {}): Promise<{ out: string; exit: ExitStatus }> {
  bundle.write(defaultSpec({ args, ...opts }));
  const id = uniqueId('escape');
  started.push(id);
  const outFile = path.join(bundle.dir, `${id}.out`);
  const exit = (await rt.run(id, bundle.dir, { stdio: { stdout: outFile, stderr: outFile } })) as ExitStatus;
  const out = fs.readFileSync(outFile, 'utf8');
  fs.rmSync(outFile);
  return { out, exit };
}

/** Probe output as { step: result }. */
async function probe(attempt: string, opts: DefaultSpecOptions = {}): Promise<Record<string, string>> {
  const { out } = await inContainer(['/probe/escape', attempt, String(hostPid)], opts);
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ', 2) as [string, string]));
}

describe('escape attempts from a default Berth container', () => {
  it('1. cannot see host processes: /proc and ps show only the container', async () => {
    const { out } = await inContainer(['/bin/sh', '-c', 'ls /proc | grep -E "^[0-9]+$" | wc -l; ps -o pid,comm']);
    const [count, ...ps] = out.trim().split('\n');
    expect(Number(count)).toBeLessThanOrEqual(4);
    expect(ps.slice(1).map((l) => l.trim().split(/\s+/)[0])).toContain('1');
    expect(out).not.toMatch(/node|jest/);
  });

  // This host's kernel has no /proc/kcore; where it exists it must read as empty.
  const kcore = fs.existsSync('/proc/kcore') ? 'read=0' : 'ENOENT';

  it.each<[string, string, Record<string, string>]>([
    ['2. cannot signal a host process (not in its pid namespace): ESRCH', 'signal', { kill: 'ESRCH' }],
    ['3. cannot mount: EPERM', 'mount', { mount: 'EPERM' }],
    ['4. cannot unmount /proc: EPERM', 'umount', { umount: 'EPERM' }],
    ['5. cannot load kernel modules: EPERM', 'module', { init_module: 'EPERM', finit_module: 'EPERM' }],
    ['6. cannot reboot the host: EPERM', 'reboot', { reboot: 'EPERM' }],
    ['7. cannot change the clock: EPERM', 'clock', { clock_settime: 'EPERM', settimeofday: 'EPERM' }],
    ['8. cannot use keyctl: EPERM', 'keyctl', { keyctl: 'EPERM' }],
    ['9. cannot use bpf: EPERM', 'bpf', { bpf: 'EPERM' }],
    ['10. cannot use perf_event_open: EPERM', 'perf', { perf_event_open: 'EPERM' }],
    ['11. cannot ptrace or read the memory of a process outside itself: ESRCH', 'ptrace', { ptrace_host: 'ESRCH', process_vm_readv_host: 'ESRCH' }],
    ['12. cannot create block or char device nodes (device cgroup): EPERM; FIFOs still work', 'mknod', { mknod_sda: 'EPERM', mknod_mem: 'EPERM', mknod_fifo: 'OK' }],
    ['13. cannot write /proc/sys (kernel.hostname, vm.drop_caches): EROFS', 'procsys', { write_proc_sys: 'EROFS', write_drop_caches: 'EROFS' }],
    ['14. cannot write /sys or create cgroups: EROFS', 'sys', { write_thp: 'EROFS', write_power: 'EROFS', mkdir_cgroup: 'EROFS' }],
    [
      '15. reads nothing from /proc/kcore, /proc/keys, /proc/timer_list (masked by /dev/null)',
      'masked',
      { '/proc/kcore': kcore, '/proc/keys': 'read=0', '/proc/timer_list': 'read=0' },
    ],
    ['16a. cannot set the (host) hostname: EPERM', 'hostname', { sethostname: 'EPERM' }],
    ['16b. cannot create user or mount namespaces: EPERM', 'userns', { unshare_user: 'EPERM', unshare_mount: 'EPERM' }],
    ['17. cannot get raw I/O port access or enable swap: EPERM', 'rawio', { iopl: 'EPERM', swapon: 'EPERM' }],
  ])('%s', async (_title, attempt, expected) => {
    expect(await probe(attempt)).toEqual(expected);
  });

  it('18. holds exactly Docker\'s capabilities, with NoNewPrivs and a seccomp filter', async () => {
    const { out } = await inContainer(['/bin/grep', '-E', '^(CapEff|CapBnd|CapInh|CapAmb|NoNewPrivs|Seccomp):', '/proc/self/status']);
    expect(out).toMatch(/CapEff:\s+00000000a80425fb/);
    expect(out).toMatch(/CapBnd:\s+00000000a80425fb/);
    expect(out).toMatch(/CapAmb:\s+0000000000000000/);
    expect(out).toMatch(/NoNewPrivs:\s+1/);
    expect(out).toMatch(/Seccomp:\s+2/);
  });

  it('19. cannot regain root through a setuid binary under NoNewPrivs (control: it does without)', async () => {
    const asNobody = { uid: 65534, gid: 65534 };
    const locked = await inContainer(['/bin/sh', '-c', '/probe/escape-suid ids; grep CapEff /proc/self/status'], asNobody);
    expect(locked.out).toMatch(/euid 65534/);
    expect(locked.out).toMatch(/CapEff:\s+0000000000000000/);
    const spec = defaultSpec({ args: ['/probe/escape-suid', 'ids'], ...asNobody });
    spec.process!.noNewPrivileges = false;
    bundle.write(spec);
    const id = uniqueId('escape');
    started.push(id);
    const outFile = path.join(bundle.dir, `${id}.out`);
    await rt.run(id, bundle.dir, { stdio: { stdout: outFile } });
    expect(fs.readFileSync(outFile, 'utf8')).toMatch(/euid 0/);
  });

  it('20. cannot escape the memory limit: OOM-killed, and reported as such', async () => {
    const { out, exit } = await inContainer(['/probe/escape', 'alloc'], { resources: { memory: { limit: 32 << 20, swap: 32 << 20 } } });
    expect(out).not.toMatch(/allocated/);
    expect(exit).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: true });
  });

  it('21. a fork bomb stops at the pids limit: EAGAIN', async () => {
    const { out } = await inContainer(['/probe/escape', 'forkbomb'], { resources: { pids: { limit: 16 } } });
    const m = /^fork (\w+) after (\d+)$/m.exec(out);
    expect(m?.[1]).toBe('EAGAIN');
    expect(Number(m?.[2])).toBeLessThan(16);
  });

  it('22. a shell fork bomb is held at the pids limit and the container still dies on delete --force', async () => {
    bundle.write(defaultSpec({ args: ['/bin/sh', '-c', 'bomb() { bomb | bomb & }; bomb; sleep 30'], resources: { pids: { limit: 32 } } }));
    const id = uniqueId('escape');
    started.push(id);
    await rt.run(id, bundle.dir, { detach: true });
    const cgroup = createCgroupManager(id);
    const events = `/sys/fs/cgroup/pids/${cgroup.path}/pids.events`;
    // Wait (however loaded the host) until the kernel has refused a fork.
    for (let i = 0; i < 200 && !/max [1-9]/.test(fs.readFileSync(events, 'utf8')); i++) await new Promise((r) => setTimeout(r, 25));
    expect(fs.readFileSync(events, 'utf8')).toMatch(/max [1-9]/);
    expect(cgroup.stats().pidsCurrent).toBeLessThanOrEqual(32);
    await rt.delete(id, { force: true });
    expect(cgroup.pids()).toEqual([]);
    expect(fs.existsSync(cgroup.directories[0])).toBe(false);
  });

  it('23. a process exec\'d into the container has the same restrictions (caps, NoNewPrivs, seccomp, namespaces)', async () => {
    bundle.write(defaultSpec({ args: ['/bin/sleep', '30'] }));
    const id = uniqueId('escape');
    started.push(id);
    await rt.run(id, bundle.dir, { detach: true });
    try {
      const outFile = path.join(bundle.dir, `${id}.exec`);
      const script = `grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status; /probe/escape keyctl; /probe/escape mount; /probe/escape signal ${hostPid}`;
      const handle = await rt.exec(id, { args: ['/bin/sh', '-c', script] }, { stdout: outFile, stderr: outFile });
      expect(await handle.wait()).toMatchObject({ exitCode: 0 });
      expect(fs.readFileSync(outFile, 'utf8')).toMatch(/^CapEff:\s+00000000a80425fb\nNoNewPrivs:\s+1\nSeccomp:\s+2\nkeyctl EPERM\nmount EPERM\nkill ESRCH\n$/);
    } finally {
      await rt.delete(id, { force: true });
    }
  });
});
