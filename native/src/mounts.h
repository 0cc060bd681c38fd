/* The container's filesystem view: rootfs, mounts[], device nodes, pivot_root, masked and read-only paths.
 * Every function runs in the cloned child, inside its own mount namespace, on paths prepared before the clone. */
#ifndef BERTH_MOUNTS_H
#define BERTH_MOUNTS_H
#include "config.h"
#include <stddef.h>

/* Makes every mount in our namespace private (nothing we do may propagate to the host) and bind-mounts the rootfs
 * onto itself (pivot_root needs the new root to be a mount point). Returns an O_PATH fd of it (the caller closes
 * it): every path below is resolved from it, confined to the rootfs. */
int mounts_prepare_rootfs (const struct berth_config *cfg, char *err, size_t errlen);

/* mounts[] (and symlinks) in order, creating mount points; binds get their flags by a second, remounting call. */
int mounts_apply (const struct berth_config *cfg, int rootfd, char *err, size_t errlen);

/* Device nodes (mknod, or a bind of the host node inside a user namespace, where mknod is refused). */
int mounts_create_devices (const struct berth_config *cfg, int rootfd, int in_user_ns, char *err, size_t errlen);

/* pivot_root into the rootfs and detach the old root (runc's pivot_root(".", ".") trick needs no temp dir). */
int mounts_pivot_root (const char *rootfs, char *err, size_t errlen);

/* After pivot_root: root propagation, masked paths, read-only paths, then the read-only root. */
int mounts_finish (const struct berth_config *cfg, char *err, size_t errlen);

#endif
