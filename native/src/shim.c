/* berth-shim: the tiny per-container supervisor (static, single-threaded, no Node).
 *
 *   berth-shim create CONFIG   fd 3 = sync socket to the agent, fds 0-2 = the container's stdio.
 *       Double-forks (the agent reaps the first process at once; the shim proper is re-parented and outlives the
 *       agent), clones the container init into its new namespaces, writes user-namespace maps, reports the init's
 *       pid, puts it in its cgroups, then waits for the init and records its exit status in the state directory
 *       (`exitfile`). With a
 *       `log` in the config, the container's stdout and stderr are pipes to the shim, which writes the log.
 *   berth-shim exec CONFIG     joins the cgroups and namespaces of `target`, forks the process (which enters the
 *       pid namespace), forwards signals to it and exits as it does (re-raising a fatal signal). With a terminal,
 *       an fd 3 if given carries window sizes for the pty.
 *
 * Because the shim is exec'd fresh, it is single-threaded: its parsing may allocate, and the clone/fork below
 * happen with no locks held by other threads (the hazard of forking Node itself). */
#include "config.h"
#include "console.h"
#include "error.h"
#include "init.h"
#include "logger.h"
#include "namespaces.h"
#include "process.h"
#include "supervise.h"
#include "sync.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define SYNC_FD 3
/* The container's state directory, opened by the agent (libberth.c). Its files are created and the exit recorded
 * through this fd, not by path: a shim whose agent died mid-create may outlive the directory, and a directory
 * re-created at the same path for a new container of the same id must never get its fifo or exit status. */
#define STATE_DIR_FD 4

/* AT_FDCWD unless the agent passed the state directory. */
static int state_dir = AT_FDCWD;

/* Takes fd STATE_DIR_FD as the state directory if it is one (an older libberth passes none). */
static void
adopt_state_dir (void)
{
  struct stat st;
  if (fstat (STATE_DIR_FD, &st) == 0 && S_ISDIR (st.st_mode) && fcntl (STATE_DIR_FD, F_SETFD, FD_CLOEXEC) == 0)
    state_dir = STATE_DIR_FD;
  else
    close (STATE_DIR_FD);
}

/* A state directory file (config.bin, exec.fifo, exit: all in that directory) for the *at calls. */
static const char *
state_file (const char *path)
{
  const char *slash = strrchr (path, '/');
  return state_dir == AT_FDCWD || slash == NULL ? path : slash + 1;
}

static void
close_fds_from (int first)
{
  if (syscall (SYS_close_range, first, ~0U, 0) == 0)
    return;
  for (int fd = first; fd < 1024; fd++)
    close (fd);
}

static int
load_config (const char *path, struct berth_config *cfg, char *err, size_t errlen)
{
  char *buf; /* kept for the process' lifetime: cfg points into it */
  size_t len;
  int ret = read_file (state_dir, state_file (path), &buf, &len, err, errlen);
  if (ret < 0)
    return ret;
  return config_parse (buf, len, cfg, err, errlen);
}

static void
write_exit_file (const char *path, int status)
{
  char tmp[4096], line[64];
  if (path == NULL || snprintf (tmp, sizeof tmp, "%s.tmp", path) >= (int) sizeof tmp)
    return;
  int n = snprintf (line, sizeof line, "%d %d\n", exit_code_of (status), WIFSIGNALED (status) ? WTERMSIG (status) : 0);
  int fd = openat (state_dir, state_file (tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return;
  int ok = write (fd, line, n) == n;
  close (fd);
  /* rename: a reader (inotify in the agent) sees the whole status or nothing. */
  if (ok)
    renameat (state_dir, state_file (tmp), state_dir, state_file (path));
}

/* Replaces our stdio from fd `from` on with /dev/null: dropping our copies lets pipes given as the container's
 * output (and the log pipes) reach EOF when it exits. */
static void
detach_stdio (int from)
{
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0)
    return;
  for (int fd = from; fd < 3; fd++)
    dup2 (null, fd);
  close (null);
}

/* With a log, the container's stdout and stderr become pipes to us (fds 1 and 2 here, inherited by the clone);
 * the read ends stay with the shim. A pty (the init puts it on fds 0-2) needs none: its master is the output. */
static int
open_log (const struct berth_config *cfg, struct logger *log, int pipe_fds[2], char *err, size_t errlen)
{
  int ret = logger_open (log, &cfg->log, err, errlen);
  if (ret < 0 || cfg->terminal)
    return ret;
  for (int i = 0; i < 2; i++)
    {
      int p[2];
      if (pipe2 (p, O_CLOEXEC) < 0)
        return berth_error (err, errlen, errno, "pipe for the container's %s", i == 0 ? "stdout" : "stderr");
      if (dup2 (p[1], 1 + i) < 0)
        return berth_error (err, errlen, errno, "dup the %s pipe", i == 0 ? "stdout" : "stderr");
      close (p[1]);
      pipe_fds[i] = p[0];
    }
  return 0;
}

/* Moves process `pid` (with its threads) into every cgroup of the config (`cgroup.procs` files). */
static int
join_cgroups (const struct berth_config *cfg, pid_t pid, char *err, size_t errlen)
{
  char text[16];
  int n = snprintf (text, sizeof text, "%d", pid);
  for (size_t i = 0; i < cfg->n_cgroups; i++)
    {
      cleanup_fd int fd = open (cfg->cgroup_procs[i], O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write (fd, text, n) != n)
        return berth_error (err, errlen, errno, "put process %d in cgroup `%s`", pid, cfg->cgroup_procs[i]);
    }
  return 0;
}

static int
run_create (const char *config_path)
{
  char err[BERTH_ERRLEN];
  static struct berth_config cfg;
  static struct logger log;
  int log_pipes[2] = { -1, -1 };
  int ret;

  /* Only stdio and the sync socket may reach the container: close anything else the agent let through. */
  close_fds_from (STATE_DIR_FD + 1);
  adopt_state_dir ();

  /* Double fork, first thing: our parent (the agent) reaps this process right away (it blocks until then); the
   * shim below is re-parented, so the container survives the agent and no zombie is left in it. */
  pid_t pid = fork ();
  if (pid < 0)
    {
      sync_send (SYNC_FD, SYNC_ERROR, errno, "fork shim");
      return 1;
    }
  if (pid > 0)
    _exit (0);

  if ((ret = load_config (config_path, &cfg, err, sizeof err)) < 0)
    {
      sync_send (SYNC_FD, SYNC_ERROR, -ret, err);
      return 1;
    }
  /* Do not pin the agent's working directory (a mount it may want to unmount) for the container's lifetime. */
  if (chdir ("/") < 0)
    {
      sync_send (SYNC_FD, SYNC_ERROR, errno, "chdir /");
      return 1;
    }

  if (mkfifoat (state_dir, state_file (cfg.fifo), 0600) < 0)
    {
      berth_error (err, sizeof err, errno, "mkfifo `%s`", cfg.fifo);
      sync_send (SYNC_FD, SYNC_ERROR, errno, err);
      return 1;
    }
  /* O_RDWR: opening never blocks, and the init's read() then blocks until `start` writes a byte. */
  int fifo_fd = openat (state_dir, state_file (cfg.fifo), O_RDWR | O_CLOEXEC);
  int maps[2];
  if (fifo_fd < 0 || socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, maps) < 0)
    {
      berth_error (err, sizeof err, errno, "open exec.fifo / socketpair");
      sync_send (SYNC_FD, SYNC_ERROR, errno, err);
      return 1;
    }
  if (cfg.log.path != NULL && (ret = open_log (&cfg, &log, log_pipes, err, sizeof err)) < 0)
    {
      sync_send (SYNC_FD, SYNC_ERROR, -ret, err);
      return 1;
    }
  /* The user namespace (ownership of everything new) and the pid namespace (which applies to children only)
   * must be joined before the clone. */
  if ((ret = ns_join_configured (&cfg, NS_USER, NS_PID, err, sizeof err)) < 0)
    {
      sync_send (SYNC_FD, SYNC_ERROR, -ret, err);
      return 1;
    }

  /* The cgroup namespace is left out: the init creates it once the agent has moved it into its cgroup. */
  pid_t child = syscall (SYS_clone, (cfg.new_ns_flags & ~CLONE_NEWCGROUP) | SIGCHLD, NULL, NULL, NULL, 0);
  if (child < 0)
    {
      berth_error (err, sizeof err, errno, "clone the container init (flags 0x%x)", cfg.new_ns_flags);
      sync_send (SYNC_FD, SYNC_ERROR, errno, err);
      return 1;
    }
  if (child == 0)
    {
      close (maps[0]);
      /* A host directory must not reach the container (pid 1 with `init` never execs, so CLOEXEC is not enough). */
      if (state_dir != AT_FDCWD)
        close (state_dir);
      /* The log is the shim's: pid 1 of the container (with `init` it never execs) must not hold it. */
      if (cfg.log.path != NULL)
        close (log.fd);
      for (int i = 0; i < 2; i++)
        if (log_pipes[i] >= 0)
          close (log_pipes[i]);
      container_init (&cfg, SYNC_FD, maps[1], fifo_fd);
    }
  close (maps[1]);
  close (fifo_fd);

  if (cfg.new_ns_flags & CLONE_NEWUSER)
    {
      if ((ret = ns_write_id_maps (child, cfg.uid_map, cfg.gid_map, err, sizeof err)) < 0)
        {
          sync_send (SYNC_FD, SYNC_ERROR, -ret, err);
          kill (child, SIGKILL);
          waitpid (child, NULL, 0);
          return 1;
        }
      sync_send (maps[0], SYNC_MAPS_DONE, 0, NULL);
    }
  sync_send (SYNC_FD, SYNC_PIDS, child, NULL);
  /* The init into its cgroups while it sets up its filesystem (a cgroup v1 migration waits for an RCU grace period,
   * which then overlaps the mounts instead of adding to them); it waits for CGROUP_DONE before anything of the
   * container runs. Here rather than in the agent: no round trip through the agent's event loop per start, and
   * no agent thread blocked on the kernel's cgroup locks. */
  if ((ret = join_cgroups (&cfg, child, err, sizeof err)) < 0)
    {
      sync_send (SYNC_FD, SYNC_ERROR, -ret, err);
      kill (child, SIGKILL);
      waitpid (child, NULL, 0);
      return 1;
    }
  sync_send (maps[0], SYNC_CGROUP_DONE, 0, NULL);
  /* From here the init talks to the agent alone; dropping our copies lets the agent see EOF if the init dies,
   * and lets pipes given as the container's stdio reach EOF when the container exits. */
  close (SYNC_FD);
  signal (SIGHUP, SIG_IGN);
  signal (SIGINT, SIG_IGN);
  signal (SIGPIPE, SIG_IGN);

  int master = cfg.terminal ? console_receive (maps[0]) : -1;
  close (maps[0]);
  /* A pty is relayed from stdin, and to stdout unless it goes to the log. */
  detach_stdio (master < 0 ? 0 : cfg.log.path != NULL ? 1 : 2);
  sigset_t none;
  sigemptyset (&none);
  struct supervise_io io = {
    .master = master,
    .resize_fd = -1,
    .log = cfg.log.path != NULL ? &log : NULL,
    .log_fds = { log_pipes[0], log_pipes[1] },
  };
  int status = supervise (child, &io, &none);
  if (master >= 0)
    {
      close (master);
      detach_stdio (0);
    }
  /* The log is complete before the exit is recorded: whoever reacts to the exit reads all of the output. */
  if (io.log != NULL)
    logger_close (io.log);
  write_exit_file (cfg.exit_file, status);
  return 0;
}

static int
run_exec (const char *config_path)
{
  char err[BERTH_ERRLEN];
  static struct berth_config cfg;
  int ns_fds[NS_COUNT];
  int ret;

  /* fd 3, when given with a terminal, carries window sizes (supervise.h); nothing else may reach the process. */
  close_fds_from (4);
  int resize_fd = fcntl (3, F_SETFD, FD_CLOEXEC) == 0 ? 3 : -1;
  /* Cgroups by host path, so before entering the mount namespace; namespace files are opened before any setns. */
  if ((ret = load_config (config_path, &cfg, err, sizeof err)) < 0 || (ret = join_cgroups (&cfg, getpid (), err, sizeof err)) < 0
      || (ret = ns_open_all (cfg.target_pid, ns_fds, err, sizeof err)) < 0
      || (ret = ns_enter_all (ns_fds, err, sizeof err)) < 0)
    {
      fprintf (stderr, "berth-shim exec: %s\n", err);
      return 125;
    }

  int pty[2] = { -1, -1 };
  if (cfg.terminal && socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pty) < 0)
    {
      perror ("berth-shim exec: socketpair");
      return 125;
    }
  sigset_t all, old;
  sigfillset (&all);
  sigprocmask (SIG_BLOCK, &all, &old);
  /* A child: only it is in the container's pid namespace (setns on a pid namespace applies to children). */
  pid_t child = fork ();
  if (child < 0)
    {
      perror ("berth-shim exec: fork");
      return 125;
    }
  if (child == 0)
    {
      /* In the container's pid namespace from here: not dumpable until execve (see container_init). */
      prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
      sigprocmask (SIG_SETMASK, &old, NULL);
      if (cfg.cwd != NULL && chdir (cfg.cwd) < 0)
        ret = berth_error (err, sizeof err, errno, "chdir `%s`", cfg.cwd);
      else if ((ret = process_set_rlimits (&cfg, err, sizeof err)) == 0
               && (!cfg.terminal || (ret = console_setup (&cfg, pty[1], err, sizeof err)) == 0))
        ret = finalize_and_exec (&cfg, err, sizeof err);
      fprintf (stderr, "berth-shim exec: %s\n", err);
      _exit (ret == -ENOENT ? 127 : 126);
    }

  /* Forward what we receive (the agent signals this supervisor) and exit the way the process did. */
  int master = -1;
  if (cfg.terminal)
    {
      close (pty[1]);
      master = console_receive (pty[0]);
      close (pty[0]);
    }
  struct supervise_io io = { .master = master, .resize_fd = resize_fd, .log = NULL, .log_fds = { -1, -1 } };
  int status = supervise (child, &io, &all);
  if (WIFSIGNALED (status))
    {
      int s = WTERMSIG (status);
      signal (s, SIG_DFL);
      sigset_t one;
      sigemptyset (&one);
      sigaddset (&one, s);
      sigprocmask (SIG_UNBLOCK, &one, NULL);
      kill (getpid (), s);
    }
  return exit_code_of (status);
}

int
main (int argc, char **argv)
{
  if (argc == 3 && strcmp (argv[1], "create") == 0)
    return run_create (argv[2]);
  if (argc == 3 && strcmp (argv[1], "exec") == 0)
    return run_exec (argv[2]);
  fprintf (stderr, "usage: berth-shim create|exec CONFIG\n");
  return 2;
}
