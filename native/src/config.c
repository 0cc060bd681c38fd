#include "config.h"
#include "error.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int
read_file (int dirfd, const char *path, char **out, size_t *len, char *err, size_t errlen)
{
  cleanup_fd int fd = openat (dirfd, path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berth_error (err, errlen, errno, "open `%s`", path);
  struct stat st;
  if (fstat (fd, &st) < 0)
    return berth_error (err, errlen, errno, "stat `%s`", path);
  size_t cap = st.st_size > 0 ? (size_t) st.st_size : 4096;
  cleanup_free char *buf = malloc (cap + 1);
  if (buf == NULL)
    return berth_error (err, errlen, ENOMEM, "read `%s`", path);
  size_t n = 0;
  for (;;)
    {
      if (n == cap)
        {
          char *bigger = realloc (buf, cap * 2 + 1);
          if (bigger == NULL)
            return berth_error (err, errlen, ENOMEM, "read `%s`", path);
          buf = bigger;
          cap *= 2;
        }
      ssize_t r = read (fd, buf + n, cap - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        return berth_error (err, errlen, errno, "read `%s`", path);
      if (r == 0)
        break;
      n += r;
    }
  buf[n] = '\0';
  *out = buf;
  buf = NULL; /* ownership moves to the caller */
  *len = n;
  return 0;
}

/* Token cursor over the NUL-separated buffer. */
struct cursor
{
  char *p, *end;
};

static char *
next_token (struct cursor *c)
{
  if (c->p >= c->end)
    return NULL;
  char *t = c->p;
  char *nul = memchr (t, '\0', c->end - t);
  if (nul == NULL)
    return NULL;
  c->p = nul + 1;
  return t;
}

static int
parse_u64 (const char *s, uint64_t *out)
{
  char *e;
  errno = 0;
  unsigned long long v = strtoull (s, &e, 10);
  if (errno != 0 || e == s || *e != '\0')
    return -1;
  *out = v;
  return 0;
}

static int
parse_int (const char *s, long long *out)
{
  char *e;
  errno = 0;
  long long v = strtoll (s, &e, 10);
  if (errno != 0 || e == s || *e != '\0')
    return -1;
  *out = v;
  return 0;
}

static const struct
{
  const char *name;
  int clone_flag;
  enum berth_ns index;
} namespaces[] = {
  { "user", CLONE_NEWUSER, NS_USER }, { "pid", CLONE_NEWPID, NS_PID },           { "ipc", CLONE_NEWIPC, NS_IPC },
  { "uts", CLONE_NEWUTS, NS_UTS },    { "network", CLONE_NEWNET, NS_NET },       { "cgroup", CLONE_NEWCGROUP, NS_CGROUP },
  { "mount", CLONE_NEWNS, NS_MNT },
};

static int
load_seccomp (const char *path, struct berth_config *cfg, char *err, size_t errlen)
{
  cleanup_free char *bytes = NULL;
  size_t len;
  int ret = read_file (AT_FDCWD, path, &bytes, &len, err, errlen);
  if (ret < 0)
    return ret;
  if (len == 0 || len % sizeof (struct sock_filter) != 0 || len / sizeof (struct sock_filter) > 0xffff)
    return berth_error (err, errlen, EINVAL, "seccomp program `%s`: %zu bytes is not a whole sock_filter[]", path, len);
  cfg->seccomp.len = len / sizeof (struct sock_filter);
  cfg->seccomp.filter = (struct sock_filter *) bytes;
  bytes = NULL; /* kept for the process' lifetime */
  return 0;
}

static int
read_last_cap (void)
{
  char buf[16] = { 0 };
  cleanup_fd int fd = open ("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || read (fd, buf, sizeof buf - 1) <= 0)
    return 40; /* CAP_CHECKPOINT_RESTORE, Linux 5.9 */
  return atoi (buf);
}

#define NEED(n)                                                                                                      \
  do                                                                                                                 \
    {                                                                                                                \
      for (int i_ = 0; i_ < (n); i_++)                                                                               \
        if ((a[i_] = next_token (&c)) == NULL)                                                                       \
          return berth_error (err, errlen, EINVAL, "config: `%s` needs %d arguments", op, (n));                     \
    }                                                                                                                \
  while (0)

#define FULL(count, max)                                                                                             \
  if ((count) >= (max))                                                                                              \
  return berth_error (err, errlen, E2BIG, "config: more than %d `%s` entries", (max), op)

#define NUM(dst, s)                                                                                                  \
  do                                                                                                                 \
    {                                                                                                                \
      long long v_;                                                                                                  \
      if (parse_int ((s), &v_) < 0)                                                                                  \
        return berth_error (err, errlen, EINVAL, "config: `%s`: bad number `%s`", op, (s));                         \
      (dst) = v_;                                                                                                    \
    }                                                                                                                \
  while (0)

int
config_parse (char *buf, size_t len, struct berth_config *cfg, char *err, size_t errlen)
{
  struct cursor c = { buf, buf + len };
  char *op, *a[7];
  memset (cfg, 0, sizeof *cfg);
  cfg->umask = -1;

  while ((op = next_token (&c)) != NULL)
    {
      if (strcmp (op, "mode") == 0)
        {
          NEED (1);
          cfg->exec_mode = strcmp (a[0], "exec") == 0;
        }
      else if (strcmp (op, "ns") == 0)
        {
          NEED (2);
          size_t i;
          for (i = 0; i < sizeof namespaces / sizeof namespaces[0]; i++)
            if (strcmp (namespaces[i].name, a[0]) == 0)
              break;
          if (i == sizeof namespaces / sizeof namespaces[0])
            return berth_error (err, errlen, EINVAL, "config: unknown namespace type `%s`", a[0]);
          if (a[1][0] == '\0')
            cfg->new_ns_flags |= namespaces[i].clone_flag;
          else
            cfg->ns_path[namespaces[i].index] = a[1];
        }
      else if (strcmp (op, "uidmap") == 0)
        {
          NEED (1);
          cfg->uid_map = a[0];
        }
      else if (strcmp (op, "gidmap") == 0)
        {
          NEED (1);
          cfg->gid_map = a[0];
        }
      else if (strcmp (op, "rootfs") == 0)
        {
          NEED (3);
          cfg->rootfs = a[0];
          cfg->rootfs_readonly = strcmp (a[1], "1") == 0;
          NUM (cfg->rootfs_propagation, a[2]);
        }
      else if (strcmp (op, "mount") == 0)
        {
          NEED (6);
          FULL (cfg->n_mounts, MAX_MOUNTS);
          if (cfg->rootfs == NULL)
            return berth_error (err, errlen, EINVAL, "config: `mount` before `rootfs`");
          struct berth_mount *m = &cfg->mounts[cfg->n_mounts++];
          m->source = a[0];
          m->target = a[1];
          m->type = a[2];
          NUM (m->flags, a[3]);
          NUM (m->propagation, a[4]);
          m->data = a[5][0] ? a[5] : NULL;
        }
      else if (strcmp (op, "device") == 0)
        {
          NEED (7);
          FULL (cfg->n_devices, MAX_DEVICES);
          if (cfg->rootfs == NULL)
            return berth_error (err, errlen, EINVAL, "config: `device` before `rootfs`");
          struct berth_device *d = &cfg->devices[cfg->n_devices++];
          long long major, minor, mode;
          d->path = a[0];
          NUM (major, a[2]);
          NUM (minor, a[3]);
          NUM (mode, a[4]);
          NUM (d->uid, a[5]);
          NUM (d->gid, a[6]);
          d->dev = makedev (major, minor);
          d->mode = (mode & 07777) | (a[1][0] == 'b' ? S_IFBLK : a[1][0] == 'p' ? S_IFIFO : S_IFCHR);
        }
      else if (strcmp (op, "symlink") == 0)
        {
          NEED (2);
          FULL (cfg->n_mounts, MAX_MOUNTS);
          if (cfg->rootfs == NULL)
            return berth_error (err, errlen, EINVAL, "config: `symlink` before `rootfs`");
          struct berth_mount *l = &cfg->mounts[cfg->n_mounts++];
          l->is_symlink = 1;
          l->source = a[0];
          l->target = a[1];
        }
      else if (strcmp (op, "mask") == 0)
        {
          NEED (1);
          FULL (cfg->n_masked, MAX_PATHS);
          cfg->masked[cfg->n_masked++] = a[0];
        }
      else if (strcmp (op, "ro") == 0)
        {
          NEED (1);
          FULL (cfg->n_readonly, MAX_PATHS);
          cfg->readonly[cfg->n_readonly++] = a[0];
        }
      else if (strcmp (op, "sysctl") == 0)
        {
          NEED (2);
          FULL (cfg->n_sysctls, MAX_PATHS);
          cfg->sysctl_path[cfg->n_sysctls] = a[0];
          cfg->sysctl_value[cfg->n_sysctls++] = a[1];
        }
      else if (strcmp (op, "domainname") == 0)
        {
          NEED (1);
          cfg->domainname = a[0];
        }
      else if (strcmp (op, "seccompflags") == 0)
        {
          NEED (1);
          NUM (cfg->seccomp_flags, a[0]);
        }
      else if (strcmp (op, "hostname") == 0)
        {
          NEED (1);
          cfg->hostname = a[0];
        }
      else if (strcmp (op, "rlimit") == 0)
        {
          NEED (3);
          FULL (cfg->n_rlimits, MAX_RLIMITS);
          struct berth_rlimit *r = &cfg->rlimits[cfg->n_rlimits++];
          uint64_t soft, hard;
          NUM (r->resource, a[0]);
          if (parse_u64 (a[1], &soft) < 0 || parse_u64 (a[2], &hard) < 0)
            return berth_error (err, errlen, EINVAL, "config: rlimit %s: bad value", a[0]);
          /* Never ask for more than the host's hard limit: raising it needs CAP_SYS_RESOURCE, which the
           * bounding set here lacks; clamping keeps the container startable (podman does the same). */
          struct rlimit host;
          if (getrlimit (r->resource, &host) == 0 && host.rlim_max != RLIM_INFINITY)
            {
              if (hard > host.rlim_max)
                hard = host.rlim_max;
              if (soft > hard)
                soft = hard;
            }
          r->limit.rlim_cur = soft;
          r->limit.rlim_max = hard;
        }
      else if (strcmp (op, "oom") == 0)
        {
          NEED (1);
          cfg->has_oom_score_adj = 1;
          NUM (cfg->oom_score_adj, a[0]);
        }
      else if (strcmp (op, "user") == 0)
        {
          NEED (2);
          NUM (cfg->uid, a[0]);
          NUM (cfg->gid, a[1]);
        }
      else if (strcmp (op, "umask") == 0)
        {
          NEED (1);
          NUM (cfg->umask, a[0]);
        }
      else if (strcmp (op, "group") == 0)
        {
          NEED (1);
          FULL (cfg->n_groups, MAX_GROUPS);
          NUM (cfg->groups[cfg->n_groups++], a[0]);
        }
      else if (strcmp (op, "caps") == 0)
        {
          NEED (5);
          cfg->has_caps = 1;
          if (parse_u64 (a[0], &cfg->cap_bounding) < 0 || parse_u64 (a[1], &cfg->cap_effective) < 0
              || parse_u64 (a[2], &cfg->cap_permitted) < 0 || parse_u64 (a[3], &cfg->cap_inheritable) < 0
              || parse_u64 (a[4], &cfg->cap_ambient) < 0)
            return berth_error (err, errlen, EINVAL, "config: caps: bad mask");
        }
      else if (strcmp (op, "nnp") == 0)
        cfg->no_new_privs = 1;
      else if (strcmp (op, "seccomp") == 0)
        {
          NEED (1);
          int ret = load_seccomp (a[0], cfg, err, errlen);
          if (ret < 0)
            return ret;
        }
      else if (strcmp (op, "arg") == 0)
        {
          NEED (1);
          FULL (cfg->n_args, MAX_ARGS);
          cfg->argv[cfg->n_args++] = a[0];
        }
      else if (strcmp (op, "env") == 0)
        {
          NEED (1);
          FULL (cfg->n_env, MAX_ENV);
          cfg->envp[cfg->n_env++] = a[0];
          if (strncmp (a[0], "PATH=", 5) == 0)
            cfg->path_env = a[0] + 5;
        }
      else if (strcmp (op, "cwd") == 0)
        {
          NEED (1);
          cfg->cwd = a[0];
        }
      else if (strcmp (op, "fifo") == 0)
        {
          NEED (1);
          cfg->fifo = a[0];
        }
      else if (strcmp (op, "exitfile") == 0)
        {
          NEED (1);
          cfg->exit_file = a[0];
        }
      else if (strcmp (op, "log") == 0)
        {
          NEED (4);
          cfg->log.path = a[0];
          NUM (cfg->log.max_bytes, a[1]);
          NUM (cfg->log.max_files, a[2]);
          NUM (cfg->log.max_line, a[3]);
          if (cfg->log.max_files < 0 || cfg->log.max_line < 1 || cfg->log.max_line > LOG_LINE_MAX)
            return berth_error (err, errlen, EINVAL, "config: log: max files >= 0 and 1 <= max line <= %d", LOG_LINE_MAX);
        }
      else if (strcmp (op, "terminal") == 0)
        {
          NEED (2);
          cfg->terminal = 1;
          NUM (cfg->console_rows, a[0]);
          NUM (cfg->console_cols, a[1]);
        }
      else if (strcmp (op, "init") == 0)
        cfg->init = 1;
      else if (strcmp (op, "target") == 0)
        {
          NEED (1);
          NUM (cfg->target_pid, a[0]);
        }
      else if (strcmp (op, "cgroup") == 0)
        {
          NEED (1);
          FULL (cfg->n_cgroups, MAX_CGROUPS);
          cfg->cgroup_procs[cfg->n_cgroups++] = a[0];
        }
      else
        return berth_error (err, errlen, EINVAL, "config: unknown op `%s`", op);
    }

  if (cfg->n_args == 0)
    return berth_error (err, errlen, EINVAL, "config: no process args");
  if (!cfg->exec_mode && (cfg->rootfs == NULL || !(cfg->new_ns_flags & CLONE_NEWNS) || cfg->ns_path[NS_MNT] != NULL))
    return berth_error (err, errlen, EINVAL, "config: a container needs a rootfs and a new mount namespace");
  if (cfg->exec_mode && cfg->target_pid <= 0)
    return berth_error (err, errlen, EINVAL, "config: exec needs a target pid");
  if (cfg->path_env == NULL)
    cfg->path_env = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  cfg->last_cap = read_last_cap ();
  return 0;
}
