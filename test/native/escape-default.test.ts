/**
 * Escape attempts from inside real containers started by the Berth runtime with the default
 * configuration (defaultSpec: Docker's caps, seccomp profile, masked/read-only paths, NoNewPrivs).
 * Each attempt runs in its own container and asserts the precise failure. busybox applets lie about
 * exit codes, so raw syscalls go through a static C probe compiled here and printing errno names.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthRuntime, type ExitStatus } from '../../node-agent/runtime';
import { defaultSpec, type DefaultSpecOptions } from '../../node-agent/runtime/spec';
import { compileStaticProbe, makeBundle, uniqueId, type Bundle } from '../helpers/rootfs';

/** `probe <attempt> [arg]` prints one line per step: `<step> OK|<ERRNO NAME>[ detail]`. */
const PROBE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *step, long rc) {
  if (rc < 0) printf("%s %s\n", step, strerrorname_np(errno));
  else printf("%s OK\n", step);
  fflush(stdout);
}

static long write_file(const char *file) {
  int fd = open(file, O_WRONLY);
  if (fd < 0) return -1;
  long rc = write(fd, "1", 1);
  close(fd);
  return rc;
}

int main(int argc, char **argv) {
  const char *what = argv[1];
  pid_t host = argc > 2 ? atoi(argv[2]) : 0;
  if (!strcmp(what, "signal")) say("kill", kill(host, SIGTERM));
  else if (!strcmp(what, "mount")) say("mount", mount("tmpfs", "/mnt", "tmpfs", 0, NULL));
  else if (!strcmp(what, "umount")) say("umount", umount2("/proc", MNT_DETACH));
  else if (!strcmp(what, "module")) {
    say("init_module", syscall(SYS_init_module, "\0asm", 4, ""));
    int fd = open("/bin/busybox", O_RDONLY);
    say("finit_module", syscall(SYS_finit_module, fd, "", 0));
  } else if (!strcmp(what, "reboot")) say("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL));
  else if (!strcmp(what, "clock")) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    say("clock_settime", clock_settime(CLOCK_REALTIME, &ts));
    say("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
  } else if (!strcmp(what, "keyctl")) say("keyctl", syscall(SYS_keyctl, 0, -3 /* KEY_SPEC_SESSION_KEYRING */, 1));
  else if (!strcmp(what, "bpf")) {
    char attr[128] = {0};
    say("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, attr, sizeof attr));
  } else if (!strcmp(what, "perf")) {
    struct perf_event_attr attr = { .type = PERF_TYPE_SOFTWARE, .size = sizeof attr, .config = PERF_COUNT_SW_CPU_CLOCK };
    say("perf_event_open", syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0));
  } else if (!strcmp(what, "ptrace")) {
    say("ptrace_host", ptrace(PTRACE_ATTACH, host, NULL, NULL));
    char buf[8];
    struct iovec local = { buf, sizeof buf }, remote = { (void *)0x400000, sizeof buf };
    say("process_vm_readv_host", syscall(SYS_process_vm_readv, host, &local, 1, &remote, 1, 0));
  } else if (!strcmp(what, "mknod")) {
    say("mknod_sda", mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0)));
    say("open_sda", open("/tmp/sda", O_RDONLY));
    say("mknod_mem", mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1)));
    say("open_mem", open("/tmp/mem", O_RDONLY));
  } else if (!strcmp(what, "procsys")) {
    say("write_proc_sys", write_file("/proc/sys/kernel/hostname"));
    say("write_drop_caches", write_file("/proc/sys/vm/drop_caches"));
  } else if (!strcmp(what, "sys")) {
    say("write_thp", write_file("/sys/kernel/mm/transparent_hugepage/enabled"));
    say("write_power", write_file("/sys/power/state"));
    say("mkdir_cgroup", mkdir("/sys/fs/cgroup/memory/berth-escape", 0755));
  } else if (!strcmp(what, "masked")) {
    const char *files[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list" };
    for (int i = 0; i < 3; i++) {
      char buf[64];
      int fd = open(files[i], O_RDONLY);
      long n = fd < 0 ? -1 : read(fd, buf, sizeof buf);
      if (n < 0) printf("%s %s\n", files[i], strerrorname_np(errno));
      else printf("%s read=%ld\n", files[i], n);
    }
  } else if (!strcmp(what, "hostname")) say("sethostname", sethostname("host", 4));
  else if (!strcmp(what, "userns")) {
    say("unshare_user", unshare(CLONE_NEWUSER));
    say("unshare_mount", unshare(CLONE_NEWNS));
  } else if (!strcmp(what, "rawio")) {
    say("iopl", iopl(3));
    say("swapon", swapon("/tmp", 0));
  } else if (!strcmp(what, "forkbomb")) {
    int made = 0;
    for (;;) {
      pid_t p = fork();
      if (p == 0) { pause(); _exit(0); }
      if (p < 0) { printf("fork %s after %d\n", strerrorname_np(errno), made); break; }
      made++;
    }
    fflush(stdout);
  } else if (!strcmp(what, "alloc")) {
    size_t mb = 256;
    char *p = malloc(mb << 20);
    for (size_t i = 0; i < (mb << 20); i += 4096) p[i] = 1;
    printf("allocated %zu MiB\n", mb);
  } else if (!strcmp(what, "ids")) {
    /* Fed from /proc/self/status by the caller; here just the effective uid. */
    printf("euid %d\n", geteuid());
  }
  return 0;
}`;

const rt = new BerthRuntime();
let bundle: Bundle;
const hostPid = process.pid;
const started: string[] = [];

beforeAll(() => {
  bundle = makeBundle();
  compileStaticProbe(bundle.rootfs, 'probe/escape', PROBE);
  // A setuid-root copy, to try regaining privileges as an unprivileged user.
  fs.copyFileSync(path.join(bundle.rootfs, 'probe/escape'), path.join(bundle.rootfs, 'probe/escape-suid'));
  fs.chmodSync(path.join(bundle.rootfs, 'probe/escape-suid'), 0o4755);
});

afterAll(async () => {
  bundle.cleanup();
  const left = (await rt.list()).filter((s) => started.includes(s.id));
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

  it('2. cannot signal a host process (not in its pid namespace): ESRCH', async () => {
    expect(await probe('signal')).toEqual({ kill: 'ESRCH' });
  });

  it('3. cannot mount: EPERM', async () => {
    expect(await probe('mount')).toEqual({ mount: 'EPERM' });
  });

  it('4. cannot unmount /proc: EPERM', async () => {
    expect(await probe('umount')).toEqual({ umount: 'EPERM' });
  });

  it('5. cannot load kernel modules: EPERM', async () => {
    expect(await probe('module')).toEqual({ init_module: 'EPERM', finit_module: 'EPERM' });
  });

  it('6. cannot reboot the host: EPERM', async () => {
    expect(await probe('reboot')).toEqual({ reboot: 'EPERM' });
  });

  it('7. cannot change the clock: EPERM', async () => {
    expect(await probe('clock')).toEqual({ clock_settime: 'EPERM', settimeofday: 'EPERM' });
  });

  it('8. cannot use keyctl: EPERM', async () => {
    expect(await probe('keyctl')).toEqual({ keyctl: 'EPERM' });
  });

  it('9. cannot use bpf: EPERM', async () => {
    expect(await probe('bpf')).toEqual({ bpf: 'EPERM' });
  });

  it('10. cannot use perf_event_open: EPERM', async () => {
    expect(await probe('perf')).toEqual({ perf_event_open: 'EPERM' });
  });

  it('11. cannot ptrace or read the memory of a process outside itself: ESRCH', async () => {
    expect(await probe('ptrace')).toEqual({ ptrace_host: 'ESRCH', process_vm_readv_host: 'ESRCH' });
  });

  it('12. may mknod (CAP_MKNOD, as Docker) but the device cgroup refuses to open the node: EPERM', async () => {
    expect(await probe('mknod')).toEqual({ mknod_sda: 'OK', open_sda: 'EPERM', mknod_mem: 'OK', open_mem: 'EPERM' });
  });

  it('13. cannot write /proc/sys (kernel.hostname, vm.drop_caches): EROFS', async () => {
    expect(await probe('procsys')).toEqual({ write_proc_sys: 'EROFS', write_drop_caches: 'EROFS' });
  });

  it('14. cannot write /sys or create cgroups: EROFS', async () => {
    expect(await probe('sys')).toEqual({ write_thp: 'EROFS', write_power: 'EROFS', mkdir_cgroup: 'EROFS' });
  });

  it('15. reads nothing from /proc/kcore, /proc/keys, /proc/timer_list (masked by /dev/null)', async () => {
    // This host's kernel has no /proc/kcore; where it exists it must read as empty.
    const kcore = fs.existsSync('/proc/kcore') ? 'read=0' : 'ENOENT';
    expect(await probe('masked')).toEqual({ '/proc/kcore': kcore, '/proc/keys': 'read=0', '/proc/timer_list': 'read=0' });
  });

  it('16. cannot set the (host) hostname or create user/mount namespaces: EPERM', async () => {
    expect(await probe('hostname')).toEqual({ sethostname: 'EPERM' });
    expect(await probe('userns')).toEqual({ unshare_user: 'EPERM', unshare_mount: 'EPERM' });
  });

  it('17. cannot get raw I/O port access or enable swap: EPERM', async () => {
    expect(await probe('rawio')).toEqual({ iopl: 'EPERM', swapon: 'EPERM' });
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
});
