/* libberth.so's ABI, called through ffi-rs by node-agent/runtime/native.ts (crun's convention: int return,
 * < 0 = -errno on failure with the message in the caller's buffer). */
#ifndef BERTH_LIBBERTH_H
#define BERTH_LIBBERTH_H

/* Starts `shim create config_path` with the given stdio (-1: /dev/null) in a new session, reaps its first
 * process (the shim double-forks), and returns the agent's end of the sync socket (a SOCK_STREAM the agent
 * watches on its event loop: expect SYNC_PIDS, place the cgroup, send SYNC_CGROUP_DONE, expect SYNC_READY). */
int berth_create (const char *shim, const char *config_path, int stdin_fd, int stdout_fd, int stderr_fd, char *err,
                  int errlen);

#endif
