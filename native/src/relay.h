/* berth-proxy: the data path of the service proxy (node-agent/proxy/README.md has the guarantees). One process for
 * every published port of an agent, single-threaded over epoll, driven by the agent with a line protocol on stdin
 * and reporting on stdout (node-agent/proxy/protocol.ts is the other end). */
#ifndef BERTH_RELAY_H
#define BERTH_RELAY_H
#include "relay_timer.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* How long outcomes and counts of endpoints in the rotation may wait before they are reported: few wake-ups of the
 * agent, fresh enough for canary analysis. */
#define RELAY_REPORT_MS 250
/* How long a count of an endpoint outside the rotation (being drained) may wait: bounds how late a drain is seen. */
#define RELAY_DRAIN_REPORT_MS 10

/* What an epoll event's data.ptr points at (the first member of the object it belongs to, or of a link's side). */
enum relay_kind
{
  RELAY_CONTROL,
  RELAY_OUTPUT,
  RELAY_LISTENER,
  RELAY_CLIENT,
  RELAY_UPSTREAM
};

struct relay_source
{
  enum relay_kind kind;
};

/* A growable byte buffer. */
struct relay_buf
{
  char *data;
  size_t len, cap;
};

/* One endpoint id of a proxy, alive while it is in the rotation or still holds connections (a drain counts them). */
struct endpoint
{
  struct endpoint *next;
  /* Tokens as the agent sent them (it encodes them: no spaces, no protocol punctuation). */
  char *id;
  char *group;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  double weight;
  /* Smooth weighted round-robin state. */
  double current;
  bool in_rotation;
  /* Scratch while a new rotation is applied. */
  bool listed;
  /* Connections picked for this endpoint and not closed yet, connects in progress included. */
  unsigned open;
};

/* One direction's end of a link: a socket, its edge-triggered readiness, and bytes waiting to be written to it. */
struct side
{
  struct relay_source src;
  int fd;
  bool readable, writable;
  /* The peer shut its side (EPOLLRDHUP): read on until EOF even after a short read. */
  bool hangup;
  /* Read returned 0. */
  bool eof;
  /* Its write side was shut after the other side's EOF was forwarded. */
  bool shut;
  char *backlog;
  size_t backlog_len, backlog_off;
};

/* One client connection and the upstream connection it is relayed to. */
struct link
{
  struct link *prev, *next;
  struct proxy *proxy;
  struct side client, upstream;
  /* The endpoint picked (counted in its `open` until the upstream socket is closed). */
  struct endpoint *endpoint;
  bool connected;
  /* No endpoint left to try: waiting for the rotation to change, until the wait budget is spent. */
  bool waiting;
  bool closed;
  /* Ids of endpoints whose connect failed: not picked again for this client. */
  char **tried;
  size_t ntried;
  int64_t accepted_us;
  /* When the first byte of an HTTP request not answered yet was read; -1 when none is pending. */
  int64_t request_us;
  /* The connect timeout, or the end of the endpoint wait. */
  struct relay_timer timer;
  struct link *dead_next;
};

/* One published port. */
struct proxy
{
  struct relay_source src;
  struct proxy *next;
  unsigned long id;
  int listen_fd;
  /* The port listened on. */
  int port;
  bool http_aware;
  bool closed;
  unsigned connect_timeout_ms, endpoint_wait_ms;
  /* The last rotation version applied (acknowledged in every report). */
  unsigned long version;
  struct endpoint *endpoints;
  struct endpoint **rotation;
  size_t nrotation, rotation_cap;
  struct link *links;
  /* Outcomes not reported yet: `group+latency`, `group!latency` (5xx) or `group!` (no answer), comma-separated. */
  struct relay_buf outcomes;
  struct relay_timer report_timer;
  /* Re-enables accepting after the process ran out of file descriptors. */
  struct relay_timer accept_timer;
  struct proxy *dead_next;
};

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof (type, member)))

/* relay.c: the event loop's shared state. */
extern int relay_epoll;
/* CLOCK_MONOTONIC in microseconds, read after each epoll_wait. */
extern int64_t relay_now_us;

/* relay_io.c: memory, buffers, the report stream. */
void relay_die (const char *fmt, ...) __attribute__ ((noreturn, format (printf, 1, 2)));
void *relay_xrealloc (void *p, size_t size);
void *relay_xcalloc (size_t size);
char *relay_xstrdup (const char *s);
void relay_buf_put (struct relay_buf *b, const char *data, size_t len);
void relay_buf_printf (struct relay_buf *b, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
void relay_buf_free (struct relay_buf *b);
/* The agent-bound stream (stdout): appended to, written out without blocking the data path. */
extern struct relay_buf relay_out;
void relay_out_flush (void);
/* Counts one request outcome of `group`; latency_us < 0 when it was not timed. */
void relay_record (struct proxy *p, const char *group, bool ok, int64_t latency_us);
/* Sends `r ID VERSION OPEN OUTCOMES` now. */
void relay_report (struct proxy *p);
/* Sends a report within `ms` (sooner if one is already due). */
void relay_report_within (struct proxy *p, unsigned ms);

/* relay_endpoints.c: addresses, the rotation (smooth weighted round-robin) and per-endpoint counts. */
/* Fills addr/len from an IPv4 or IPv6 address and a port; -1 if host is neither. */
int relay_sockaddr (const char *host, uint16_t port, struct sockaddr_storage *addr, socklen_t *len);
/* Replaces the rotation with `n` endpoints given as 5 tokens each: id group weight address port. */
int relay_endpoints_set (struct proxy *p, char **tokens, size_t n, char *err, size_t errlen);
/* The next endpoint for link `l` (skipping those it tried), or NULL. */
struct endpoint *relay_endpoints_pick (struct proxy *p, const struct link *l);
/* Whether an endpoint other than `e` that `l` has not tried is in the rotation. */
bool relay_endpoints_has_other (struct proxy *p, const struct endpoint *e, const struct link *l);
/* One more / one fewer connection to `e` (which may be freed when it left the rotation and none is left). */
void relay_endpoint_hold (struct proxy *p, struct endpoint *e);
void relay_endpoint_release (struct proxy *p, struct endpoint *e);
void relay_endpoints_free (struct proxy *p);

/* relay_link.c: the data path. */
void relay_no_delay (int fd);
void relay_accept (struct proxy *p);
/* The accept_timer's action: listen again after a pause for lack of file descriptors. */
void relay_accept_resume (struct relay_timer *t);
void relay_link_event (struct side *s, uint32_t events);
/* Connects the links waiting for an endpoint (the rotation changed). */
void relay_links_retry_waiting (struct proxy *p);
void relay_links_close_all (struct proxy *p);
/* Frees the links closed during this round of events (an event later in the round may still name one). */
void relay_links_reap (void);

#endif
