#include "sync.h"
#include "error.h"
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

int
sync_send (int fd, int type, int value, const char *msg)
{
  struct berth_sync_msg m = { .type = type, .value = value };
  if (msg != NULL)
    {
      size_t n = strnlen (msg, sizeof m.msg - 1);
      memcpy (m.msg, msg, n);
    }
  ssize_t r;
  do
    r = send (fd, &m, sizeof m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == (ssize_t) sizeof m ? 0 : -errno;
}

static const char *
sync_name (int type)
{
  switch (type)
    {
    case SYNC_PIDS: return "PIDS";
    case SYNC_MAPS_DONE: return "MAPS_DONE";
    case SYNC_CGROUP_DONE: return "CGROUP_DONE";
    case SYNC_READY: return "READY";
    case SYNC_ERROR: return "ERROR";
    default: return "unknown";
    }
}

int
sync_expect (int fd, int expected, int timeout_ms, char *err, size_t errlen)
{
  struct pollfd p = { .fd = fd, .events = POLLIN };
  int r;
  do
    r = poll (&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return berth_error (err, errlen, errno, "sync: poll waiting for %s", sync_name (expected));
  if (r == 0)
    return berth_error (err, errlen, ETIMEDOUT, "sync: waiting for %s", sync_name (expected));

  struct berth_sync_msg m;
  ssize_t n;
  /* MSG_WAITALL: the agent's socket is a stream (so that Node's event loop can watch it); a message may arrive
   * in pieces there. */
  do
    n = recv (fd, &m, sizeof m, MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return berth_error (err, errlen, errno, "sync: recv waiting for %s", sync_name (expected));
  if (n == 0)
    return berth_error (err, errlen, EPIPE, "sync: peer exited before sending %s", sync_name (expected));
  if (n != (ssize_t) sizeof m)
    return berth_error (err, errlen, EPROTO, "sync: short message (%zd bytes) waiting for %s", n, sync_name (expected));
  m.msg[sizeof m.msg - 1] = '\0';
  if (m.type == SYNC_ERROR)
    {
      /* The sender already appended strerror; keep its errno as our return value. */
      berth_error (err, errlen, 0, "%s", m.msg);
      return m.value > 0 ? -m.value : -1;
    }
  if (m.type != expected)
    return berth_error (err, errlen, EPROTO, "sync: got %s waiting for %s", sync_name (m.type), sync_name (expected));
  return m.value;
}
