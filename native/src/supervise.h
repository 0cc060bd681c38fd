/* The shim's wait for its child: forwards signals, relays a pty master, returns the wait status. */
#ifndef BERTH_SUPERVISE_H
#define BERTH_SUPERVISE_H
#include <signal.h>
#include <sys/types.h>

/* Waits until `child` exits and returns its wait status. Meanwhile every signal in `forward` that this process
 * receives is sent on to the child, and, when `master` >= 0, stdin is copied to the pty master and the master to
 * stdout (and a SIGWINCH copies stdin's terminal size to the pty instead of being forwarded). Blocks `forward`
 * and SIGCHLD (they are read from a signalfd). */
int supervise (pid_t child, int master, const sigset_t *forward);

#endif
