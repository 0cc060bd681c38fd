#include "process.h"
#include "error.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int
process_set_rlimits (const struct berth_config *cfg, char *err, size_t errlen)
{
  for (size_t i = 0; i < cfg->n_rlimits; i++)
    if (setrlimit (cfg->rlimits[i].resource, &cfg->rlimits[i].limit) < 0)
      return berth_error (err, errlen, errno, "setrlimit %d (%llu:%llu)", cfg->rlimits[i].resource,
                          (unsigned long long) cfg->rlimits[i].limit.rlim_cur,
                          (unsigned long long) cfg->rlimits[i].limit.rlim_max);
  return 0;
}

int
process_set_sysctls (const struct berth_config *cfg, char *err, size_t errlen)
{
  for (size_t i = 0; i < cfg->n_sysctls; i++)
    {
      cleanup_fd int fd = open (cfg->sysctl_path[i], O_WRONLY | O_CLOEXEC);
      size_t len = strlen (cfg->sysctl_value[i]);
      if (fd < 0 || write (fd, cfg->sysctl_value[i], len) != (ssize_t) len)
        return berth_error (err, errlen, errno, "sysctl `%s` = `%s`", cfg->sysctl_path[i], cfg->sysctl_value[i]);
    }
  return 0;
}

int
process_set_oom_score_adj (const struct berth_config *cfg, char *err, size_t errlen)
{
  if (!cfg->has_oom_score_adj)
    return 0;
  char buf[16];
  int n = snprintf (buf, sizeof buf, "%d", cfg->oom_score_adj);
  cleanup_fd int fd = open ("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write (fd, buf, n) != n)
    return berth_error (err, errlen, errno, "write oom_score_adj %d", cfg->oom_score_adj);
  return 0;
}

int
process_set_user (const struct berth_config *cfg, char *err, size_t errlen)
{
  /* Only when we set the capabilities ourselves afterwards: otherwise the kernel's rule (a uid change away from 0
   * clears them) is what the config asked for. */
  if (cfg->has_caps && prctl (PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
    return berth_error (err, errlen, errno, "prctl PR_SET_KEEPCAPS");
  if (setgroups (cfg->n_groups, cfg->groups) < 0)
    return berth_error (err, errlen, errno, "setgroups (%zu groups)", cfg->n_groups);
  if (setresgid (cfg->gid, cfg->gid, cfg->gid) < 0)
    return berth_error (err, errlen, errno, "setresgid %d", cfg->gid);
  if (setresuid (cfg->uid, cfg->uid, cfg->uid) < 0)
    return berth_error (err, errlen, errno, "setresuid %d", cfg->uid);
  if (cfg->umask >= 0)
    umask (cfg->umask);
  if (cfg->has_caps && prctl (PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
    return berth_error (err, errlen, errno, "prctl PR_SET_KEEPCAPS");
  return 0;
}

int
process_set_no_new_privs (char *err, size_t errlen)
{
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    return berth_error (err, errlen, errno, "prctl PR_SET_NO_NEW_PRIVS");
  return 0;
}

int
process_exec (const struct berth_config *cfg, char *err, size_t errlen)
{
  const char *file = cfg->argv[0];
  if (strchr (file, '/') != NULL)
    {
      execve (file, cfg->argv, cfg->envp);
      return berth_error (err, errlen, errno, "exec `%s`", file);
    }
  char path[PATH_MAX];
  int saved = ENOENT;
  for (const char *dir = cfg->path_env; dir != NULL;)
    {
      const char *colon = strchr (dir, ':');
      size_t dlen = colon ? (size_t) (colon - dir) : strlen (dir);
      if (dlen + 1 + strlen (file) < sizeof path)
        {
          memcpy (path, dir, dlen);
          path[dlen] = '/';
          strcpy (path + dlen + 1, file);
          execve (path, cfg->argv, cfg->envp);
          /* Keep looking after "not here"; remember a more telling error (e.g. EACCES) for the message. */
          if (errno != ENOENT && errno != ENOTDIR)
            saved = errno;
        }
      dir = colon ? colon + 1 : NULL;
    }
  return berth_error (err, errlen, saved, "exec `%s` (searched PATH %s)", file, cfg->path_env);
}
