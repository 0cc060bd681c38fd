/**
 * Test (and benchmark) fixtures for containers: a busybox rootfs (scripts/make-rootfs.js), an OCI
 * bundle around it with a config.json from `defaultSpec`, and static probe programs compiled at
 * test time with `gcc -static` into a rootfs (never committed).
 */
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultSpec, type DefaultSpecOptions, type RuntimeSpec } from '../../node-agent/runtime/spec';

/** The repository root, found from here whether running from the sources (ts-jest) or from dist/. */
function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'scripts', 'make-rootfs.js'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`scripts/make-rootfs.js not found above ${__dirname}`);
    dir = up;
  }
  return dir;
}

const { makeRootfs: buildRootfs } = require(path.join(repoRoot(), 'scripts', 'make-rootfs.js')) as {
  makeRootfs(dir: string): string;
};

/** Assemble a busybox rootfs into `dir`. */
export function makeRootfs(dir: string): string {
  return buildRootfs(dir);
}

/** A unique container id with Berth's prefix, safe to run beside other tests. */
export function uniqueId(label = 'test'): string {
  return `berth-${label}-${crypto.randomBytes(4).toString('hex')}`;
}

export interface Bundle {
  /** The bundle directory (holds config.json and rootfs/). */
  readonly dir: string;
  readonly rootfs: string;
  readonly configPath: string;
  /** The config last written. */
  spec: RuntimeSpec;
  /** Rewrites config.json (after editing `spec`, or with a new one). */
  write(spec?: RuntimeSpec): void;
  /** Removes the bundle directory. */
  cleanup(): void;
}

/** A bundle in a fresh temp dir: busybox rootfs + config.json from `defaultSpec(opts)`. */
export function makeBundle(opts: DefaultSpecOptions = {}): Bundle {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-bundle-'));
  // mkdtemp makes it 0700; a container with a user namespace maps root to an unprivileged host uid that must traverse it.
  fs.chmodSync(dir, 0o755);
  const rootfs = makeRootfs(path.join(dir, 'rootfs'));
  const configPath = path.join(dir, 'config.json');
  const bundle: Bundle = {
    dir,
    rootfs,
    configPath,
    spec: defaultSpec({ rootfs: 'rootfs', ...opts }),
    write(spec?: RuntimeSpec) {
      if (spec) bundle.spec = spec;
      fs.writeFileSync(configPath, JSON.stringify(bundle.spec, null, 2));
    },
    cleanup() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  bundle.write();
  return bundle;
}

/**
 * Compile C `source` with `gcc -static` to `<rootfs>/<name>` (e.g. `probe/keyctl`) and return the
 * path inside the container (`/probe/keyctl`). Built on the fly for raw syscalls busybox lacks.
 */
export function compileStaticProbe(rootfs: string, name: string, source: string): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-probe-src-'));
  try {
    const src = path.join(work, 'probe.c');
    fs.writeFileSync(src, source);
    const out = path.join(rootfs, name);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('gcc', ['-static', '-O1', '-Wall', '-o', out, src], { stdio: 'pipe' });
    return path.join('/', name);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** `probe <attempt> [arg]` prints one line per step: `<step> OK|<ERRNO NAME>[ detail]`. */
const ESCAPE_PROBE_SOURCE = String.raw`
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
    unlink("/tmp/sda");
    unlink("/tmp/mem");
    say("mknod_sda", mknod("/tmp/sda", S_IFBLK | 0600, makedev(8, 0)));
    say("mknod_mem", mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1)));
    say("mknod_fifo", mknod("/tmp/fifo", S_IFIFO | 0600, 0));
    unlink("/tmp/fifo");
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

/** Compiles the escape probe to `<rootfs>/probe/escape`; usage inside: `/probe/escape <attempt> [host pid]`. */
export function installEscapeProbe(rootfs: string): string {
  return compileStaticProbe(rootfs, 'probe/escape', ESCAPE_PROBE_SOURCE);
}
