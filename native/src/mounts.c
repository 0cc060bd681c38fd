#include "mounts.h"
#include "error.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The flags a bind mount only takes on a remount (MS_BIND ignores them on the first call). */
#define BIND_REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME \
                            | MS_STRICTATIME)

/* openat2(2) with RESOLVE_IN_ROOT: `rel` is looked up with rootfd as "/", so neither ".." nor a symlink in the
 * image (absolute or relative) can lead outside the rootfs. */
static int
open_in_root (int rootfd, const char *rel)
{
  struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  return syscall (SYS_openat2, rootfd, rel[0] ? rel : ".", &how, sizeof how);
}

/* Resolves the container path `path` inside the rootfs, creating what is missing when `create` (directories, and
 * the last component as an empty file when `is_file`), and writes the host path it resolved to into `out`.
 * Mount targets come from the image's own tree: resolving them as the kernel would from the host could follow a
 * symlink such as /proc -> /etc (of the host) and mount over the host's files (CVE-2021-30465 is this class). */
static int
resolve_in_root_at (int rootfd, const char *path, int create, int is_file, char *out, size_t outlen, int depth,
                    char *err, size_t errlen)
{
  char rel[PATH_MAX];
  while (*path == '/')
    path++;
  if (strlen (path) >= sizeof rel)
    return berth_error (err, errlen, ENAMETOOLONG, "path `/%s` in the rootfs", path);
  strcpy (rel, path);

  int cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0)
    return berth_error (err, errlen, errno, "dup rootfs fd");
  for (char *comp = rel; *comp;)
    {
      char *slash = strchr (comp, '/');
      int last = slash == NULL || slash[strspn (slash, "/")] == '\0';
      if (slash)
        *slash = '\0';
      int next = open_in_root (rootfd, rel);
      char link[PATH_MAX];
      ssize_t link_len;
      if (next < 0 && errno == ENOENT && create && depth < 40
          && (link_len = readlinkat (cur, comp, link, sizeof link - 1)) > 0)
        {
          /* A dangling symlink: create where it points, inside the rootfs, as the kernel would have resolved it
           * (absolute targets from the rootfs, relative ones from the link's directory). */
          char again[PATH_MAX];
          link[link_len] = '\0';
          int n = snprintf (again, sizeof again, "%.*s%s%s%s", link[0] == '/' ? 0 : (int) (comp - rel), rel, link,
                            last ? "" : "/", last ? "" : slash + 1);
          close (cur);
          if (n < 0 || (size_t) n >= sizeof again)
            return berth_error (err, errlen, ENAMETOOLONG, "resolve `/%s` in the rootfs", path);
          return resolve_in_root_at (rootfd, again, create, is_file, out, outlen, depth + 1, err, errlen);
        }
      if (next < 0 && errno == ENOENT && create)
        {
          /* Created relative to the already resolved parent, then resolved again from the root. */
          if (last && is_file)
            {
              int f = openat (cur, comp, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
              if (f >= 0)
                close (f);
            }
          else
            mkdirat (cur, comp, 0755);
          next = open_in_root (rootfd, rel);
        }
      if (next < 0)
        {
          int e = errno;
          close (cur);
          return berth_error (err, errlen, e, "resolve `/%s` in the rootfs", rel);
        }
      close (cur);
      cur = next;
      if (last)
        break;
      *slash = '/';
      comp = slash + 1;
      while (*comp == '/')
        comp++;
    }

  char proc[64];
  snprintf (proc, sizeof proc, "/proc/self/fd/%d", cur);
  ssize_t n = readlink (proc, out, outlen - 1);
  int e = errno;
  close (cur);
  if (n < 0 || (size_t) n >= outlen - 1)
    return berth_error (err, errlen, n < 0 ? e : ENAMETOOLONG, "readlink the resolved `/%s`", path);
  out[n] = '\0';
  return 0;
}

static int
resolve_in_root (int rootfd, const char *path, int create, int is_file, char *out, size_t outlen, char *err,
                 size_t errlen)
{
  return resolve_in_root_at (rootfd, path, create, is_file, out, outlen, 0, err, errlen);
}

/* Splits a container path into its parent (resolved, created, in `parent`) and its last component. */
static int
resolve_parent_in_root (int rootfd, const char *path, char *parent, size_t len, const char **name, char *err,
                        size_t errlen)
{
  char dir[PATH_MAX];
  const char *slash = strrchr (path, '/');
  size_t n = slash ? (size_t) (slash - path) : 0;
  if (n >= sizeof dir || slash == NULL || slash[1] == '\0')
    return berth_error (err, errlen, EINVAL, "path `%s` has no last component", path);
  memcpy (dir, path, n);
  dir[n] = '\0';
  *name = slash + 1;
  return resolve_in_root (rootfd, dir, 1, 0, parent, len, err, errlen);
}

/* Joins parent and name into out. */
static int
join_path (const char *parent, const char *name, char *out, size_t len, char *err, size_t errlen)
{
  if ((size_t) snprintf (out, len, "%s/%s", parent, name) >= len)
    return berth_error (err, errlen, ENAMETOOLONG, "path `%s/%s`", parent, name);
  return 0;
}

int
mounts_prepare_rootfs (const struct berth_config *cfg, char *err, size_t errlen)
{
  /* First, before any other mount: with shared propagation our mounts would appear on the host and leak. */
  if (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return berth_error (err, errlen, errno, "make / rprivate");
  if (mount (cfg->rootfs, cfg->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return berth_error (err, errlen, errno, "bind rootfs `%s`", cfg->rootfs);
  /* Opened after the bind, so that lookups from it cross into the mounts made below it. */
  int fd = open (cfg->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berth_error (err, errlen, errno, "open rootfs `%s`", cfg->rootfs);
  return fd;
}

static int
apply_mount (int rootfd, const struct berth_mount *m, char *err, size_t errlen)
{
  char target[PATH_MAX];
  int ret;
  if (m->is_symlink)
    {
      const char *name;
      if ((ret = resolve_parent_in_root (rootfd, m->target, target, sizeof target, &name, err, errlen)) < 0)
        return ret;
      char link[PATH_MAX];
      if ((ret = join_path (target, name, link, sizeof link, err, errlen)) < 0)
        return ret;
      if (symlink (m->source, link) < 0 && errno != EEXIST)
        return berth_error (err, errlen, errno, "symlink `%s`", m->target);
      return 0;
    }
  int is_bind = (m->flags & MS_BIND) != 0;
  int is_remount = (m->flags & MS_REMOUNT) != 0;
  struct stat st;
  int is_file = is_bind && stat (m->source, &st) == 0 && !S_ISDIR (st.st_mode);
  if ((ret = resolve_in_root (rootfd, m->target, !is_remount, is_file, target, sizeof target, err, errlen)) < 0)
    return ret;
  if (is_bind)
    {
      if (mount (m->source, target, NULL, m->flags & (MS_BIND | MS_REC), NULL) < 0)
        return berth_error (err, errlen, errno, "bind mount `%s` on `%s`", m->source, m->target);
      if ((m->flags & BIND_REMOUNT_FLAGS)
          && mount (NULL, target, NULL, MS_REMOUNT | MS_BIND | (m->flags & BIND_REMOUNT_FLAGS), NULL) < 0)
        return berth_error (err, errlen, errno, "remount bind `%s` with its flags", m->target);
    }
  else if (mount (m->source[0] ? m->source : NULL, target, m->type[0] ? m->type : NULL, m->flags, m->data) < 0)
    return berth_error (err, errlen, errno, "mount %s `%s` on `%s`", m->type, m->source, m->target);
  if (m->propagation && mount (NULL, target, NULL, m->propagation, NULL) < 0)
    return berth_error (err, errlen, errno, "set propagation of `%s`", m->target);
  return 0;
}

int
mounts_apply (const struct berth_config *cfg, int rootfd, char *err, size_t errlen)
{
  for (size_t i = 0; i < cfg->n_mounts; i++)
    {
      int ret = apply_mount (rootfd, &cfg->mounts[i], err, errlen);
      if (ret < 0)
        return ret;
    }
  return 0;
}

int
mounts_create_devices (const struct berth_config *cfg, int rootfd, int in_user_ns, char *err, size_t errlen)
{
  char target[PATH_MAX];
  for (size_t i = 0; i < cfg->n_devices; i++)
    {
      const struct berth_device *d = &cfg->devices[i];
      int ret;
      if (in_user_ns)
        {
          /* mknod is refused inside a user namespace: expose the host's node instead. */
          if ((ret = resolve_in_root (rootfd, d->path, 1, 1, target, sizeof target, err, errlen)) < 0)
            return ret;
          if (mount (d->path, target, NULL, MS_BIND, NULL) < 0)
            return berth_error (err, errlen, errno, "bind device `%s`", d->path);
          continue;
        }
      const char *name;
      char parent[PATH_MAX];
      if ((ret = resolve_parent_in_root (rootfd, d->path, parent, sizeof parent, &name, err, errlen)) < 0
          || (ret = join_path (parent, name, target, sizeof target, err, errlen)) < 0)
        return ret;
      unlink (target); /* the image's own file there, if any (unlink never follows a symlink) */
      if (mknod (target, d->mode, d->dev) < 0)
        return berth_error (err, errlen, errno, "mknod `%s`", d->path);
      /* mknod's mode is filtered by the umask: set the exact permissions. */
      if (chmod (target, d->mode & 07777) < 0 || chown (target, d->uid, d->gid) < 0)
        return berth_error (err, errlen, errno, "chmod/chown `%s`", d->path);
    }
  return 0;
}

int
mounts_pivot_root (const char *rootfs, char *err, size_t errlen)
{
  if (chdir (rootfs) < 0)
    return berth_error (err, errlen, errno, "chdir `%s`", rootfs);
  /* pivot_root(".", "."): the old root ends up stacked on top of the new one and is detached at once. */
  if (syscall (SYS_pivot_root, ".", ".") < 0)
    return berth_error (err, errlen, errno, "pivot_root `%s`", rootfs);
  /* Before the unmount: make the old root private so the detach does not propagate anywhere. */
  if (mount (NULL, ".", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return berth_error (err, errlen, errno, "make old root rprivate");
  if (umount2 (".", MNT_DETACH) < 0)
    return berth_error (err, errlen, errno, "detach old root");
  if (chdir ("/") < 0)
    return berth_error (err, errlen, errno, "chdir /");
  return 0;
}

static int
mask_path (const char *path, char *err, size_t errlen)
{
  struct stat st;
  if (stat (path, &st) < 0)
    return errno == ENOENT ? 0 : berth_error (err, errlen, errno, "masked path `%s`", path);
  if (S_ISDIR (st.st_mode))
    {
      if (mount ("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
        return berth_error (err, errlen, errno, "mask `%s` with a read-only tmpfs", path);
    }
  else if (mount ("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    return berth_error (err, errlen, errno, "mask `%s` with /dev/null", path);
  return 0;
}

static int
readonly_path (const char *path, char *err, size_t errlen)
{
  if (mount (path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return errno == ENOENT ? 0 : berth_error (err, errlen, errno, "bind read-only path `%s`", path);
  if (mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    return berth_error (err, errlen, errno, "remount `%s` read-only", path);
  return 0;
}

int
mounts_finish (const struct berth_config *cfg, char *err, size_t errlen)
{
  int ret;
  if (cfg->rootfs_propagation && mount (NULL, "/", NULL, cfg->rootfs_propagation, NULL) < 0)
    return berth_error (err, errlen, errno, "set rootfs propagation");
  /* Read-only paths before masks: a masked path inside a read-only one (none by default) still gets masked. */
  for (size_t i = 0; i < cfg->n_readonly; i++)
    if ((ret = readonly_path (cfg->readonly[i], err, errlen)) < 0)
      return ret;
  for (size_t i = 0; i < cfg->n_masked; i++)
    if ((ret = mask_path (cfg->masked[i], err, errlen)) < 0)
      return ret;
  /* Last: every mount point and device node above had to be created in a writable root. */
  if (cfg->rootfs_readonly && mount (NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
    return berth_error (err, errlen, errno, "remount / read-only");
  return 0;
}
