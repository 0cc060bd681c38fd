/* libberth.so: what the agent calls through ffi-rs (node-agent/runtime/native.ts). It never forks Node itself:
 * posix_spawn (clone(CLONE_VM|CLONE_VFORK) + exec in glibc) starts the static shim, which does all the forking. */
#include "libberth.h"
#include "error.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int
add_stdio (posix_spawn_file_actions_t *fa, int fd, int target)
{
  if (fd >= 0)
    return posix_spawn_file_actions_adddup2 (fa, fd, target);
  return posix_spawn_file_actions_addopen (fa, target, "/dev/null", O_RDWR, 0);
}

/* The directory holding `config_path` (the container's state directory), as an O_PATH fd. */
static int
open_state_dir (const char *config_path, char *err, int errlen)
{
  char dir[4096];
  const char *slash = strrchr (config_path, '/');
  size_t len = slash == NULL ? 0 : slash == config_path ? 1 : (size_t) (slash - config_path);
  if (len >= sizeof dir)
    return berth_error (err, errlen, ENAMETOOLONG, "state directory of `%s`", config_path);
  memcpy (dir, len == 0 ? "." : config_path, len == 0 ? 1 : len);
  dir[len == 0 ? 1 : len] = '\0';
  int fd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berth_error (err, errlen, errno, "open state directory `%s`", dir);
  return fd;
}

int
berth_create (const char *shim, const char *config_path, int stdin_fd, int stdout_fd, int stderr_fd, char *err,
              int errlen)
{
  /* fd 4 of the shim (shim.c STATE_DIR_FD): it works through it, never by path, in the directory we created. */
  int state_dir = open_state_dir (config_path, err, errlen);
  if (state_dir < 0)
    return state_dir;
  int sv[2];
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    {
      close (state_dir);
      return berth_error (err, errlen, errno, "socketpair");
    }

  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init (&fa);
  posix_spawnattr_init (&attr);
  int ret = add_stdio (&fa, stdin_fd, 0) || add_stdio (&fa, stdout_fd, 1) || add_stdio (&fa, stderr_fd, 2)
            || posix_spawn_file_actions_adddup2 (&fa, sv[1], 3) || posix_spawn_file_actions_adddup2 (&fa, state_dir, 4);
  /* Node ignores SIGPIPE and blocks some signals in its threads; an ignored disposition survives execve, so the
   * shim (and the container after it) starts from the defaults and an empty mask. */
  sigset_t all, none;
  sigfillset (&all);
  sigemptyset (&none);
  posix_spawnattr_setsigdefault (&attr, &all);
  posix_spawnattr_setsigmask (&attr, &none);
  posix_spawnattr_setflags (&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  pid_t pid = -1;
  char *const argv[] = { (char *) shim, (char *) "create", (char *) config_path, NULL };
  char *const envp[] = { NULL };
  if (ret == 0)
    ret = posix_spawn (&pid, shim, &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy (&fa);
  posix_spawnattr_destroy (&attr);
  close (sv[1]);
  close (state_dir);
  if (ret != 0)
    {
      close (sv[0]);
      return berth_error (err, errlen, ret, "spawn `%s`", shim);
    }
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return sv[0];
}
