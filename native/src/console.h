/* A pseudo-terminal for `process.terminal` when the caller gives no terminal of its own: the init opens it from
 * the container's devpts, hands the master to the shim (SCM_RIGHTS) and makes the slave its controlling
 * terminal and stdio; the shim relays between the master and the container's original stdio (supervise.c). */
#ifndef BERTH_CONSOLE_H
#define BERTH_CONSOLE_H
#include "config.h"
#include <stddef.h>
#include <sys/types.h>

/* In the init, after pivot_root (so /dev/ptmx is the container's): creates the pty, sends the master over
 * sock_fd, and puts the slave on fds 0-2 as the controlling terminal of a new session. */
int console_setup (const struct berth_config *cfg, int sock_fd, char *err, size_t errlen);

/* In the shim: receives the master sent by console_setup (-1 if the init died first). */
int console_receive (int sock_fd);

#endif
