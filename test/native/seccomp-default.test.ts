/**
 * Docker's default profile compiled by compileSeccomp (libseccomp.so.2 through ffi-rs), installed in
 * a real process by a small C helper built here with gcc, which then tries syscalls and prints errno.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compileSeccomp, DOCKER_DEFAULT_PROFILE, defaultSeccompProfile } from '../../node-agent/runtime/seccomp';
import { DEFAULT_CAPABILITIES } from '../../node-agent/runtime/spec';
import { compileStaticProbe } from '../helpers/rootfs';

const PROBE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void report(const char *name, long rc) { printf("%s %d\n", name, rc < 0 ? errno : 0); fflush(stdout); }

int main(int argc, char **argv) {
  FILE *f = fopen(argv[1], "rb");
  static struct sock_filter insns[8192];
  size_t n = fread(insns, sizeof insns[0], 8192, f);
  fclose(f);
  struct sock_fprog prog = { .len = (unsigned short)n, .filter = insns };
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog)) { perror("install"); return 99; }
  report("getpid", syscall(SYS_getpid));
  report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
  report("bpf", syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, NULL, 0));
  report("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
  report("mount", mount("none", "/berth-nonexistent", "tmpfs", 0, NULL));
  report("umount2", umount2("/berth-nonexistent", 0));
  report("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
  report("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, NULL));
  report("init_module", syscall(SYS_init_module, NULL, 0, ""));
  report("unshare", syscall(SYS_unshare, CLONE_NEWNS));
  report("clone_newuser", syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0));
  report("clone3", syscall(SYS_clone3, NULL, 0));
  report("socket_vsock", socket(40 /* AF_VSOCK */, SOCK_STREAM, 0));
  report("socket_inet", socket(AF_INET, SOCK_STREAM, 0));
  report("personality_query", personality(0xffffffff));
  report("personality_norandom", personality(0x0040000 /* ADDR_NO_RANDOMIZE */));
  pid_t pid = fork();
  if (pid == 0) _exit(7);
  int status = 0;
  waitpid(pid, &status, 0);
  report("fork", pid < 0 ? -1 : (WEXITSTATUS(status) == 7 ? 0 : -1));
  return 0;
}`;

describe('compileSeccomp with Docker\'s default profile', () => {
  let dir: string;
  let probe: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-seccomp-'));
    probe = path.join(dir, compileStaticProbe(dir, 'seccomp-probe', PROBE));
  });
  afterAll(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fs.existsSync(dir)).toBe(false);
  });

  /** errno name (or 'OK') per probed syscall, with the filter for `caps` installed. */
  function probeWith(caps: readonly string[]): Record<string, string> {
    const bpfFile = path.join(dir, `filter-${caps.length}.bpf`);
    fs.writeFileSync(bpfFile, compileSeccomp(DOCKER_DEFAULT_PROFILE, caps));
    const out = execFileSync(probe, [bpfFile], { encoding: 'utf8' });
    const byNumber = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
    return Object.fromEntries(
      out.trim().split('\n').map((line) => {
        const [name, errno] = line.split(' ');
        return [name, errno === '0' ? 'OK' : (byNumber.get(Number(errno)) ?? errno)];
      }),
    );
  }

  it('blocks keyctl, bpf, perf_event_open, mount, reboot, clock_settime, modules and namespaces with EPERM; allows ordinary work', () => {
    expect(probeWith(DEFAULT_CAPABILITIES)).toEqual({
      getpid: 'OK',
      keyctl: 'EPERM',
      bpf: 'EPERM',
      perf_event_open: 'EPERM',
      mount: 'EPERM',
      umount2: 'EPERM',
      reboot: 'EPERM',
      clock_settime: 'EPERM',
      init_module: 'EPERM',
      unshare: 'EPERM',
      clone_newuser: 'EPERM',
      clone3: 'ENOSYS',
      socket_vsock: 'EPERM',
      socket_inet: 'OK',
      personality_query: 'OK',
      personality_norandom: 'EPERM',
      fork: 'OK',
    });
  });

  it('resolves capability-conditioned rules: CAP_SYS_TIME lets clock_settime through to the kernel', () => {
    const result = probeWith([...DEFAULT_CAPABILITIES, 'CAP_SYS_TIME']);
    expect(result.clock_settime).toBe('EFAULT');
    expect(result.keyctl).toBe('EPERM');
  });

  it('returns the same program from its cache, and a different one for other caps', () => {
    const a = compileSeccomp(DOCKER_DEFAULT_PROFILE, DEFAULT_CAPABILITIES);
    expect(compileSeccomp(DOCKER_DEFAULT_PROFILE, [...DEFAULT_CAPABILITIES].reverse())).toBe(a);
    expect(compileSeccomp(DOCKER_DEFAULT_PROFILE, ['CAP_SYS_ADMIN'])).not.toEqual(a);
    expect(a.length % 8).toBe(0);
  });

  it('compiles an already-resolved OCI profile (what config.json carries) to the same program', () => {
    const resolved = defaultSeccompProfile(DEFAULT_CAPABILITIES);
    expect(compileSeccomp(resolved, DEFAULT_CAPABILITIES).equals(compileSeccomp(DOCKER_DEFAULT_PROFILE, DEFAULT_CAPABILITIES))).toBe(true);
  });
});
