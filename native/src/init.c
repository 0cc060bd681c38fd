#include "init.h"
#include "capabilities.h"
#include "console.h"
#include "error.h"
#include "mounts.h"
#include "namespaces.h"
#include "process.h"
#include "seccomp.h"
#include "sync.h"
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int
exit_code_of (int status)
{
  if (WIFEXITED (status))
    return WEXITSTATUS (status);
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return 255;
}

int
finalize_and_exec (const struct berth_config *cfg, char *err, size_t errlen)
{
  int ret;
  /* no_new_privs before anything that execs or installs a filter: it is what lets an unprivileged filter in. */
  if (cfg->no_new_privs && (ret = process_set_no_new_privs (err, errlen)) < 0)
    return ret;
  /* The bounding set needs CAP_SETPCAP, which the uid change below may take away. */
  if (cfg->has_caps && (ret = caps_drop_bounding (cfg, err, errlen)) < 0)
    return ret;
  /* Without no_new_privs, seccomp(2) needs CAP_SYS_ADMIN, which the final sets usually lack: install the filter
   * while we still hold it (runc does the same). The calls left (setgroups, setresuid, capset, execve) are ones
   * Docker's profile allows. */
  if (!cfg->no_new_privs && (ret = seccomp_install (cfg, err, errlen)) < 0)
    return ret;
  if ((ret = process_set_user (cfg, err, errlen)) < 0)
    return ret;
  if (cfg->has_caps && (ret = caps_apply (cfg, err, errlen)) < 0)
    return ret;
  /* Last before execve: the filter would otherwise refuse the setup calls above (mount, setns, capset...). */
  if (cfg->no_new_privs && (ret = seccomp_install (cfg, err, errlen)) < 0)
    return ret;
  return process_exec (cfg, err, errlen);
}

/* pid 1 that stays behind when asked (`init`): forwards every signal to the process and reaps every orphan,
 * exiting with the process' status once it is gone. All signals are already blocked, so none is lost. */
static _Noreturn void
minimal_init (pid_t child)
{
  sigset_t all;
  sigfillset (&all);
  for (;;)
    {
      siginfo_t si;
      int sig = sigwaitinfo (&all, &si);
      if (sig < 0)
        continue;
      if (sig != SIGCHLD)
        {
          kill (child, sig);
          continue;
        }
      int status;
      pid_t pid;
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        if (pid == child)
          _exit (exit_code_of (status));
    }
}

static _Noreturn void
fail (int sync_fd, int ret, const char *err)
{
  if (sync_fd >= 0)
    sync_send (sync_fd, SYNC_ERROR, -ret, err);
  else
    {
      /* After READY nobody listens on the sync socket: the process' stderr is where a failed exec shows. */
      (void) !write (2, "berth: ", 7);
      (void) !write (2, err, strlen (err));
      (void) !write (2, "\n", 1);
    }
  _exit (ret == -ENOENT ? 127 : 126);
}

_Noreturn void
container_init (const struct berth_config *cfg, int sync_fd, int maps_fd, int fifo_fd)
{
  char err[BERTH_ERRLEN];
  int ret;

  /* 0. Not dumpable until execve resets it: a process in the container must not reach our memory, fds or
   *    /proc/<pid>/exe (the shim binary, CVE-2019-5736) while we still hold the host's privileges. */
  if (prctl (PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
    fail (sync_fd, berth_error (err, sizeof err, errno, "prctl PR_SET_DUMPABLE"), err);

  /* 1. A new user namespace starts unmapped: wait until the shim has written our uid/gid maps, then become its
   *    root, so that the mounts below are owned by (and allowed in) the container's namespace. */
  if (cfg->new_ns_flags & CLONE_NEWUSER)
    {
      if ((ret = sync_expect (maps_fd, SYNC_MAPS_DONE, -1, err, sizeof err)) < 0)
        fail (sync_fd, ret, err);
      if (setresgid (0, 0, 0) < 0 || setresuid (0, 0, 0) < 0)
        fail (sync_fd, berth_error (err, sizeof err, errno, "become root of the user namespace"), err);
    }

  /* 2. Join the namespaces given by path (user and pid were joined by the shim: they must precede the clone). */
  if ((ret = ns_join_configured (cfg, NS_IPC, NS_CGROUP, err, sizeof err)) < 0)
    fail (sync_fd, ret, err);

  /* 3. Per-namespace identity. */
  if (cfg->hostname != NULL && sethostname (cfg->hostname, strlen (cfg->hostname)) < 0)
    fail (sync_fd, berth_error (err, sizeof err, errno, "sethostname `%s`", cfg->hostname), err);
  if (cfg->domainname != NULL && setdomainname (cfg->domainname, strlen (cfg->domainname)) < 0)
    fail (sync_fd, berth_error (err, sizeof err, errno, "setdomainname `%s`", cfg->domainname), err);
  if ((ret = process_set_oom_score_adj (cfg, err, sizeof err)) < 0)
    fail (sync_fd, ret, err);

  /* 4. The filesystem: private propagation first, then rootfs, mounts, devices (which need the host's /dev),
   *    pivot_root, sysctls (through the container's /proc, whose /proc/sys is still writable), and only then
   *    masked/read-only paths (container paths, many under the new /proc). */
  int rootfd = mounts_prepare_rootfs (cfg, err, sizeof err);
  if (rootfd < 0)
    fail (sync_fd, rootfd, err);
  if ((ret = mounts_apply (cfg, rootfd, err, sizeof err)) < 0
      || (ret = mounts_create_devices (cfg, rootfd, (cfg->new_ns_flags & CLONE_NEWUSER) || cfg->ns_path[NS_USER], err,
                                       sizeof err)) < 0)
    fail (sync_fd, ret, err);
  close (rootfd);
  if ((ret = mounts_pivot_root (cfg->rootfs, err, sizeof err)) < 0 || (ret = process_set_sysctls (cfg, err, sizeof err)) < 0
      || (ret = mounts_finish (cfg, err, sizeof err)) < 0)
    fail (sync_fd, ret, err);

  /* The pty comes from the container's own devpts, so after pivot_root; its master goes to the shim over the
   * socket we share with it, which is closed right after. */
  if (cfg->terminal && (ret = console_setup (cfg, maps_fd, err, sizeof err)) < 0)
    fail (sync_fd, ret, err);

  /* 5. Wait for the shim to have put us in our cgroups (it does so while we set up the filesystem above: a
   *    cgroup v1 migration waits for an RCU grace period, which overlaps our mounts instead of adding to them).
   *    Before the cgroup namespace, which takes the cgroup we are in as its root, and before anything of the
   *    process runs, so its every fork and page is limited. */
  if ((ret = sync_expect (maps_fd, SYNC_CGROUP_DONE, -1, err, sizeof err)) < 0)
    fail (sync_fd, ret, err);
  close (maps_fd);
  if ((cfg->new_ns_flags & CLONE_NEWCGROUP) && unshare (CLONE_NEWCGROUP) < 0)
    fail (sync_fd, berth_error (err, sizeof err, errno, "unshare cgroup namespace"), err);

  /* 6. Limits, and the working directory (a container path, so after pivot_root). */
  if ((ret = process_set_rlimits (cfg, err, sizeof err)) < 0)
    fail (sync_fd, ret, err);
  if (cfg->cwd != NULL && chdir (cfg->cwd) < 0)
    fail (sync_fd, berth_error (err, sizeof err, errno, "chdir to cwd `%s`", cfg->cwd), err);

  /* 7. Created: tell the agent, then block until `start` writes to exec.fifo (opened by the shim before the clone,
   *    so it is reachable whatever the rootfs holds). */
  if ((ret = sync_send (sync_fd, SYNC_READY, 0, NULL)) < 0)
    fail (sync_fd, ret, "sync: send READY");
  close (sync_fd);
  char byte;
  ssize_t n;
  do
    n = read (fifo_fd, &byte, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1)
    fail (-1, berth_error (err, sizeof err, n < 0 ? errno : EPIPE, "wait for start on exec.fifo"), err);
  close (fifo_fd);

  /* 8. With `init`, this process stays as pid 1 (reaper + signal forwarder) and a child becomes the process.
   *    Signals are blocked before the fork so none arriving in between is lost. */
  if (cfg->init)
    {
      sigset_t all, old;
      sigfillset (&all);
      sigprocmask (SIG_BLOCK, &all, &old);
      pid_t child = fork ();
      if (child < 0)
        fail (-1, berth_error (err, sizeof err, errno, "fork the process under init"), err);
      if (child > 0)
        {
          /* The init stays behind as pid 1: it gets the container's restrictions too (all but the user change
           * and execve), so that it is no stronger than the processes it supervises. */
          if ((cfg->no_new_privs && process_set_no_new_privs (err, sizeof err) < 0)
              || (cfg->has_caps
                  && (caps_drop_bounding (cfg, err, sizeof err) < 0 || caps_set_all (cfg->cap_permitted, err, sizeof err) < 0))
              || seccomp_install (cfg, err, sizeof err) < 0)
            {
              kill (child, SIGKILL);
              fail (-1, -EPERM, err);
            }
          minimal_init (child);
        }
      sigprocmask (SIG_SETMASK, &old, NULL);
    }

  /* 9. Privileges last, seccomp at the very end, then execve. */
  ret = finalize_and_exec (cfg, err, sizeof err);
  fail (-1, ret, err);
}
