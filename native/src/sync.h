/* Parent <-> child synchronisation: fixed-size messages over socketpairs, one enumerated set. The agent's end is
 * SOCK_STREAM so that Node can watch it on its event loop (node-agent/runtime/berth/sync-channel.ts mirrors this
 * layout); the shim <-> init pair is SOCK_SEQPACKET.
 *
 *   shim  -> agent  SYNC_PIDS(init pid)        the init exists (the agent can kill it if the create fails)
 *   shim  -> init   SYNC_MAPS_DONE             uid_map/gid_map written (user namespace only)
 *   shim  -> init   SYNC_CGROUP_DONE           the shim has put the init in its cgroups: it may create the cgroup
 *                                              namespace and finish (it waits for this after the filesystem, before
 *                                              rlimits)
 *   init  -> agent  SYNC_READY                 everything is set up; the init waits on exec.fifo for `start`
 *   any   -> agent  SYNC_ERROR(errno, message) setup failed; the sender exits
 */
#ifndef BERTH_SYNC_H
#define BERTH_SYNC_H
#include <stddef.h>

enum berth_sync_type
{
  SYNC_PIDS = 1,
  SYNC_MAPS_DONE = 2,
  SYNC_CGROUP_DONE = 3,
  SYNC_READY = 4,
  SYNC_ERROR = 5,
};

/* 508 bytes, native endianness: int32 type, int32 value, char msg[500] (NUL-terminated). */
struct berth_sync_msg
{
  int type;
  int value;
  char msg[500];
};

/* Sends one message; returns 0 or a negative errno. Async-signal-safe (one send(2)). */
int sync_send (int fd, int type, int value, const char *msg);

/* Receives one message within timeout_ms (-1: forever). Fails on EOF, timeout, or a message of another type
 * than `expected`; a SYNC_ERROR message's text becomes the error. Returns the message value (>= 0) on success. */
int sync_expect (int fd, int expected, int timeout_ms, char *err, size_t errlen);

#endif
