/* The shim's wait for its child: forwards signals, relays a pty, writes the container's log, returns the wait status. */
#ifndef BERTH_SUPERVISE_H
#define BERTH_SUPERVISE_H
#include "logger.h"
#include <signal.h>
#include <sys/types.h>

struct supervise_io
{
  /* A pty master (-1: none): stdin is copied to it, and its output goes to the log as stdout, or to stdout. */
  int master;
  /* Window sizes for the pty (-1: none): 4-byte records, u16 rows then u16 cols, little-endian (exec -t). */
  int resize_fd;
  /* The container's log (NULL: none), fed from the pty or from the read ends of its stdout/stderr pipes. */
  struct logger *log;
  int log_fds[2];
};

/* Waits until `child` exits and returns its wait status. Meanwhile every signal in `forward` that this process
 * receives is sent on to the child, and `io` is served (a SIGWINCH copies stdin's terminal size to the pty instead
 * of being forwarded). After the exit, what the container wrote before it is drained into the log or stdout.
 * Blocks `forward` and SIGCHLD (they are read from a signalfd). */
int supervise (pid_t child, const struct supervise_io *io, const sigset_t *forward);

#endif
