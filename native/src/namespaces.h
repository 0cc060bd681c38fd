/* Namespaces: joining by path, writing user-namespace id maps, and entering every namespace of a running container. */
#ifndef BERTH_NAMESPACES_H
#define BERTH_NAMESPACES_H
#include "config.h"
#include <stddef.h>
#include <sys/types.h>

/* setns(2) into the namespace file at path; nstype is the CLONE_NEW* flag it must be. */
int ns_join_path (const char *path, int nstype, char *err, size_t errlen);

/* Joins (setns) every namespace cfg names by path whose index is in [from, to], in enum order (user first). */
int ns_join_configured (const struct berth_config *cfg, int from, int to, char *err, size_t errlen);

/* Writes /proc/<pid>/uid_map and gid_map (the parent must do it: the child has no privilege over the host ids). */
int ns_write_id_maps (pid_t pid, const char *uid_map, const char *gid_map, char *err, size_t errlen);

/* Opens /proc/<pid>/ns/<each> that differs from ours (fds[i] = -1 when shared). */
int ns_open_all (pid_t pid, int fds[NS_COUNT], char *err, size_t errlen);

/* setns into each open fd, in enum order, closing them. The pid namespace only applies to children forked next. */
int ns_enter_all (int fds[NS_COUNT], char *err, size_t errlen);

#endif
