#include "namespaces.h"
#include "error.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const proc_names[NS_COUNT] = {
  [NS_USER] = "user", [NS_PID] = "pid", [NS_IPC] = "ipc", [NS_UTS] = "uts",
  [NS_NET] = "net",   [NS_CGROUP] = "cgroup", [NS_MNT] = "mnt",
};
static const int clone_flags[NS_COUNT] = {
  [NS_USER] = CLONE_NEWUSER, [NS_PID] = CLONE_NEWPID, [NS_IPC] = CLONE_NEWIPC, [NS_UTS] = CLONE_NEWUTS,
  [NS_NET] = CLONE_NEWNET,   [NS_CGROUP] = CLONE_NEWCGROUP, [NS_MNT] = CLONE_NEWNS,
};

int
ns_join_path (const char *path, int nstype, char *err, size_t errlen)
{
  cleanup_fd int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error (err, errlen, errno, "open namespace `%s`", path);
  if (setns (fd, nstype) < 0)
    return berth_error (err, errlen, errno, "setns `%s`", path);
  return 0;
}

int
ns_join_configured (const struct berth_config *cfg, int from, int to, char *err, size_t errlen)
{
  for (int i = from; i <= to; i++)
    if (cfg->ns_path[i] != NULL)
      {
        int ret = ns_join_path (cfg->ns_path[i], clone_flags[i], err, errlen);
        if (ret < 0)
          return ret;
      }
  return 0;
}

static int
write_proc_file (pid_t pid, const char *name, const char *content, char *err, size_t errlen)
{
  char path[64];
  snprintf (path, sizeof path, "/proc/%d/%s", pid, name);
  cleanup_fd int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error (err, errlen, errno, "open `%s`", path);
  size_t len = strlen (content);
  if (write (fd, content, len) != (ssize_t) len)
    return berth_error (err, errlen, errno, "write `%s` (`%s`)", path, content);
  return 0;
}

int
ns_write_id_maps (pid_t pid, const char *uid_map, const char *gid_map, char *err, size_t errlen)
{
  int ret = 0;
  if (uid_map != NULL)
    ret = write_proc_file (pid, "uid_map", uid_map, err, errlen);
  if (ret == 0 && gid_map != NULL)
    ret = write_proc_file (pid, "gid_map", gid_map, err, errlen);
  return ret;
}

int
ns_open_all (pid_t pid, int fds[NS_COUNT], char *err, size_t errlen)
{
  for (int i = 0; i < NS_COUNT; i++)
    fds[i] = -1;
  for (int i = 0; i < NS_COUNT; i++)
    {
      char theirs[64], ours[64];
      struct stat st_theirs, st_ours;
      snprintf (theirs, sizeof theirs, "/proc/%d/ns/%s", pid, proc_names[i]);
      snprintf (ours, sizeof ours, "/proc/self/ns/%s", proc_names[i]);
      if (stat (theirs, &st_theirs) < 0)
        return berth_error (err, errlen, errno, "stat `%s`", theirs);
      if (stat (ours, &st_ours) == 0 && st_ours.st_ino == st_theirs.st_ino && st_ours.st_dev == st_theirs.st_dev)
        continue; /* shared with us: setns into our own user namespace would even fail with EINVAL */
      fds[i] = open (theirs, O_RDONLY | O_CLOEXEC);
      if (fds[i] < 0)
        return berth_error (err, errlen, errno, "open `%s`", theirs);
    }
  return 0;
}

int
ns_enter_all (int fds[NS_COUNT], char *err, size_t errlen)
{
  int ret = 0;
  for (int i = 0; i < NS_COUNT; i++)
    {
      if (fds[i] < 0)
        continue;
      if (ret == 0 && setns (fds[i], clone_flags[i]) < 0)
        ret = berth_error (err, errlen, errno, "setns %s", proc_names[i]);
      close (fds[i]);
      fds[i] = -1;
    }
  return ret;
}
