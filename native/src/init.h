/* The container's init sequence (the cloned child) and the final steps shared with `exec`. */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H
#include "config.h"

/* Runs in the child cloned by the shim, already in its new namespaces: sets everything up, reports READY to the
 * agent on sync_fd, waits on fifo_fd for `start`, then execs the process. Never returns. */
_Noreturn void container_init (const struct berth_config *cfg, int sync_fd, int maps_fd, int fifo_fd);

/* no_new_privs, bounding set, user and groups, capabilities, seccomp, execve — in the order the kernel requires.
 * Returns only on failure. */
int finalize_and_exec (const struct berth_config *cfg, char *err, size_t errlen);

/* Encodes a wait status as a shell exit code (128 + signal when killed). */
int exit_code_of (int status);

#endif
