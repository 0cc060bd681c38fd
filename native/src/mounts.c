#include "mounts.h"
#include "error.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The flags a bind mount only takes on a remount (MS_BIND ignores them on the first call). */
#define BIND_REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME \
                            | MS_STRICTATIME)

/* mkdir -p on a stack copy of path. */
static int
mkdir_p (const char *path, mode_t mode, char *err, size_t errlen)
{
  char buf[PATH_MAX];
  size_t len = strlen (path);
  if (len >= sizeof buf)
    return berth_error (err, errlen, ENAMETOOLONG, "mkdir `%s`", path);
  memcpy (buf, path, len + 1);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/')
      {
        *p = '\0';
        if (mkdir (buf, mode) < 0 && errno != EEXIST)
          return berth_error (err, errlen, errno, "mkdir `%s`", buf);
        *p = '/';
      }
  if (mkdir (buf, mode) < 0 && errno != EEXIST)
    return berth_error (err, errlen, errno, "mkdir `%s`", buf);
  return 0;
}

/* Creates a mount point: a directory, or an empty file when a file is bind-mounted onto it. */
static int
make_mount_point (const char *target, int is_file, char *err, size_t errlen)
{
  if (!is_file)
    return mkdir_p (target, 0755, err, errlen);
  char parent[PATH_MAX];
  const char *slash = strrchr (target, '/');
  size_t n = slash ? (size_t) (slash - target) : 0;
  if (n >= sizeof parent)
    return berth_error (err, errlen, ENAMETOOLONG, "mount point `%s`", target);
  memcpy (parent, target, n);
  parent[n] = '\0';
  if (n > 0)
    {
      int ret = mkdir_p (parent, 0755, err, errlen);
      if (ret < 0)
        return ret;
    }
  int fd = open (target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EISDIR)
    return berth_error (err, errlen, errno, "create mount point `%s`", target);
  if (fd >= 0)
    close (fd);
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
  return 0;
}

static int
apply_mount (const struct berth_mount *m, char *err, size_t errlen)
{
  if (m->is_symlink)
    {
      if (symlink (m->source, m->target) < 0 && errno != EEXIST)
        return berth_error (err, errlen, errno, "symlink `%s`", m->target);
      return 0;
    }
  int is_bind = (m->flags & MS_BIND) != 0;
  int is_remount = (m->flags & MS_REMOUNT) != 0;
  if (!is_remount)
    {
      struct stat st;
      int is_file = is_bind && stat (m->source, &st) == 0 && !S_ISDIR (st.st_mode);
      int ret = make_mount_point (m->target, is_file, err, errlen);
      if (ret < 0)
        return ret;
    }
  if (is_bind)
    {
      if (mount (m->source, m->target, NULL, m->flags & (MS_BIND | MS_REC), NULL) < 0)
        return berth_error (err, errlen, errno, "bind mount `%s` on `%s`", m->source, m->target);
      if ((m->flags & BIND_REMOUNT_FLAGS)
          && mount (NULL, m->target, NULL, MS_REMOUNT | MS_BIND | (m->flags & BIND_REMOUNT_FLAGS), NULL) < 0)
        return berth_error (err, errlen, errno, "remount bind `%s` with its flags", m->target);
    }
  else if (mount (m->source[0] ? m->source : NULL, m->target, m->type[0] ? m->type : NULL, m->flags, m->data) < 0)
    return berth_error (err, errlen, errno, "mount %s `%s` on `%s`", m->type, m->source, m->target);
  if (m->propagation && mount (NULL, m->target, NULL, m->propagation, NULL) < 0)
    return berth_error (err, errlen, errno, "set propagation of `%s`", m->target);
  return 0;
}

int
mounts_apply (const struct berth_config *cfg, char *err, size_t errlen)
{
  for (size_t i = 0; i < cfg->n_mounts; i++)
    {
      int ret = apply_mount (&cfg->mounts[i], err, errlen);
      if (ret < 0)
        return ret;
    }
  return 0;
}

int
mounts_create_devices (const struct berth_config *cfg, int in_user_ns, char *err, size_t errlen)
{
  for (size_t i = 0; i < cfg->n_devices; i++)
    {
      const struct berth_device *d = &cfg->devices[i];
      int ret;
      if (in_user_ns)
        {
          /* mknod is refused inside a user namespace: expose the host's node instead. */
          ret = make_mount_point (d->target, 1, err, errlen);
          if (ret < 0)
            return ret;
          if (mount (d->host, d->target, NULL, MS_BIND, NULL) < 0)
            return berth_error (err, errlen, errno, "bind device `%s`", d->host);
          continue;
        }
      ret = make_mount_point (d->target, 0, err, errlen);
      if (ret < 0)
        return ret;
      rmdir (d->target); /* make_mount_point made the parents and the path itself; the node replaces the latter */
      unlink (d->target);
      if (mknod (d->target, d->mode, d->dev) < 0)
        return berth_error (err, errlen, errno, "mknod `%s`", d->target);
      /* mknod's mode is filtered by the umask: set the exact permissions. */
      if (chmod (d->target, d->mode & 07777) < 0 || chown (d->target, d->uid, d->gid) < 0)
        return berth_error (err, errlen, errno, "chmod/chown `%s`", d->target);
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
