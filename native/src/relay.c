/* berth-proxy [AGENT_PID]: the event loop and the control channel. The agent writes one command a line on stdin;
 * every answer and report is one line on stdout. Ids are the agent's numbers for its ports; endpoint ids and groups
 * are tokens the agent encoded (no spaces).
 *
 *   N ID HTTP CONNECT_TIMEOUT_MS ENDPOINT_WAIT_MS  a port (HTTP 1: count outcomes)
 *   L ID ADDRESS PORT                               listen      -> l ID PORT | f ID ERRNO
 *   E ID VERSION [ENDPOINT GROUP WEIGHT ADDRESS PORT]...  the rotation -> r ... (at once: a drain waits for it)
 *   S ID SEQ                                        report now  -> r ... then s ID SEQ
 *   C ID                                            close the port and its connections -> c ID
 *
 *   r ID VERSION OPEN OUTCOMES   OPEN: `-` or ENDPOINT=N,... (every endpoint with connections open)
 *                                OUTCOMES: `-` or GROUP+LATENCY (ok), GROUP!LATENCY (5xx), GROUP! (no answer),
 *                                comma-separated, LATENCY in hundredths of a millisecond
 *
 * EOF on stdin ends the process, and so does the agent's death (PR_SET_PDEATHSIG). */
#include "error.h"
#include "relay.h"
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RELAY_NICE -10
#define RELAY_SLICE_NS 100000
#define LISTEN_BACKLOG 4096
#define MAX_EVENTS 256
#define MAX_TOKENS_PER_LINE 65536

int relay_epoll = -1;
int64_t relay_now_us;

static struct proxy *proxies;
static struct proxy *dead_proxies;
static struct relay_source control_source = { RELAY_CONTROL };
static struct relay_source output_source = { RELAY_OUTPUT };
static struct relay_buf input;

static void
tick (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  relay_now_us = (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static struct proxy *
find_proxy (unsigned long id)
{
  for (struct proxy *p = proxies; p != NULL; p = p->next)
    if (p->id == id)
      return p;
  return NULL;
}

static void
report_timer (struct relay_timer *t)
{
  relay_report (container_of (t, struct proxy, report_timer));
}

static void
protocol_error (const char *what, char **tokens, size_t n)
{
  fprintf (stderr, "berth-proxy: bad control line (%s):", what);
  for (size_t i = 0; i < n; i++)
    fprintf (stderr, " %s", tokens[i]);
  fputc ('\n', stderr);
  exit (2);
}

static unsigned long
number (char **tokens, size_t n, size_t i)
{
  char *end;
  errno = 0;
  unsigned long v = strtoul (tokens[i], &end, 10);
  if (errno != 0 || *end != '\0' || end == tokens[i])
    protocol_error ("not a number", tokens, n);
  return v;
}

static void
create_proxy (char **t, size_t n)
{
  if (n != 5 || find_proxy (number (t, n, 1)) != NULL)
    protocol_error ("N ID HTTP CONNECT_TIMEOUT_MS ENDPOINT_WAIT_MS, a new ID", t, n);
  struct proxy *p = relay_xcalloc (sizeof *p);
  p->src.kind = RELAY_LISTENER;
  p->id = number (t, n, 1);
  p->http_aware = number (t, n, 2) != 0;
  p->connect_timeout_ms = (unsigned) number (t, n, 3);
  p->endpoint_wait_ms = (unsigned) number (t, n, 4);
  p->listen_fd = -1;
  relay_timer_init (&p->report_timer, report_timer);
  relay_timer_init (&p->accept_timer, relay_accept_resume);
  p->next = proxies;
  proxies = p;
}

/* Binds and listens; returns the port or -errno. */
static int
listen_on (struct proxy *p, const char *host, unsigned long port)
{
  struct sockaddr_storage addr = { 0 };
  struct sockaddr_in *in4 = (struct sockaddr_in *) &addr;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;
  socklen_t len;
  if (port > 65535 || relay_sockaddr (host, (uint16_t) port, &addr, &len) < 0)
    return -EINVAL;
  int fd = socket (addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  int one = 1;
  /* The port comes back at once after this process is restarted (connections of the old one in TIME_WAIT). */
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  relay_no_delay (fd);
  if (bind (fd, (struct sockaddr *) &addr, len) < 0 || listen (fd, LISTEN_BACKLOG) < 0 || getsockname (fd, (struct sockaddr *) &addr, &len) < 0)
    {
      int err = errno;
      close (fd);
      return -err;
    }
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &p->src };
  if (epoll_ctl (relay_epoll, EPOLL_CTL_ADD, fd, &ev) < 0)
    {
      int err = errno;
      close (fd);
      return -err;
    }
  p->listen_fd = fd;
  return ntohs (addr.ss_family == AF_INET ? in4->sin_port : in6->sin6_port);
}

static void
close_proxy (struct proxy *p)
{
  for (struct proxy **pp = &proxies; *pp != NULL; pp = &(*pp)->next)
    if (*pp == p)
      {
        *pp = p->next;
        break;
      }
  p->closed = true;
  relay_links_close_all (p);
  if (p->listen_fd >= 0)
    close (p->listen_fd);
  relay_timer_cancel (&p->report_timer);
  relay_timer_cancel (&p->accept_timer);
  relay_endpoints_free (p);
  relay_buf_free (&p->outcomes);
  /* Freed after this round of events: one of them may still name it. */
  p->dead_next = dead_proxies;
  dead_proxies = p;
}

/* The commands below ignore a port the agent closed already (it may still send a rotation on its way out). */

static void
listen_command (struct proxy *p, unsigned long id, char **t, size_t n)
{
  if (n != 4)
    protocol_error ("L ID ADDRESS PORT", t, n);
  if (p == NULL)
    return;
  int port = p->listen_fd >= 0 ? p->port : listen_on (p, t[2], number (t, n, 3));
  if (port < 0)
    relay_buf_printf (&relay_out, "f %lu %d\n", id, -port);
  else
    relay_buf_printf (&relay_out, "l %lu %d\n", id, p->port = port);
}

static void
endpoints_command (struct proxy *p, char **t, size_t n)
{
  char err[BERTH_ERRLEN];
  if (n < 3 || (n - 3) % 5 != 0)
    protocol_error ("E ID VERSION [ENDPOINT GROUP WEIGHT ADDRESS PORT]...", t, n);
  if (p == NULL)
    return;
  if (relay_endpoints_set (p, t + 3, (n - 3) / 5, err, sizeof err) < 0)
    protocol_error (err, t, n);
  p->version = number (t, n, 2);
  relay_links_retry_waiting (p);
  relay_report (p); /* at once: a drain waits for this acknowledgement */
}

static void
command (char **t, size_t n)
{
  if (n < 2 || strlen (t[0]) != 1)
    protocol_error ("no command", t, n);
  if (t[0][0] == 'N')
    return create_proxy (t, n);
  unsigned long id = number (t, n, 1);
  struct proxy *p = find_proxy (id);
  switch (t[0][0])
    {
    case 'L':
      return listen_command (p, id, t, n);
    case 'E':
      return endpoints_command (p, t, n);
    case 'S':
      if (n != 3)
        protocol_error ("S ID SEQ", t, n);
      if (p != NULL)
        relay_report (p);
      relay_buf_printf (&relay_out, "s %lu %s\n", id, t[2]);
      return;
    case 'C':
      if (n != 2)
        protocol_error ("C ID", t, n);
      if (p != NULL)
        close_proxy (p);
      relay_buf_printf (&relay_out, "c %lu\n", id);
      return;
    default:
      protocol_error ("unknown command", t, n);
    }
}

/* Reads what the agent wrote and runs every complete line. */
static void
control (void)
{
  static char *tokens[MAX_TOKENS_PER_LINE];
  for (;;)
    {
      if (input.cap - input.len < 4096)
        {
          input.cap = input.cap ? 2 * input.cap : 65536;
          input.data = relay_xrealloc (input.data, input.cap);
        }
      ssize_t r = read (STDIN_FILENO, input.data + input.len, input.cap - input.len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && errno == EAGAIN)
        break;
      if (r <= 0)
        exit (0); /* the agent closed the channel (or is gone): nothing to serve for */
      input.len += (size_t) r;
    }
  size_t start = 0;
  for (char *nl; (nl = memchr (input.data + start, '\n', input.len - start)) != NULL; start = (size_t) (nl - input.data) + 1)
    {
      *nl = '\0';
      size_t n = 0;
      for (char *save, *tok = strtok_r (input.data + start, " ", &save); tok != NULL; tok = strtok_r (NULL, " ", &save))
        {
          if (n == MAX_TOKENS_PER_LINE)
            protocol_error ("too many tokens", tokens, n);
          tokens[n++] = tok;
        }
      if (n > 0)
        command (tokens, n);
    }
  memmove (input.data, input.data + start, input.len - start);
  input.len -= start;
}

static void
set_nonblocking (int fd)
{
  int flags = fcntl (fd, F_GETFL);
  if (flags < 0 || fcntl (fd, F_SETFL, flags | O_NONBLOCK) < 0)
    relay_die ("fcntl O_NONBLOCK on fd %d: %s", fd, strerror (errno));
}

/* The data path wakes up ahead of the node's batch work: nice -10 (needs CAP_SYS_NICE) and a short EEVDF slice
 * (Linux 6.12+), with which a woken task preempts the one running instead of waiting for its slice to end. Best
 * effort: each falls back to less. */
static void
prioritize (void)
{
  struct
  {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime_ns, deadline_ns, period_ns;
  } attr = { .size = sizeof attr, .policy = SCHED_OTHER, .nice = RELAY_NICE, .runtime_ns = RELAY_SLICE_NS };
  if (syscall (SYS_sched_setattr, 0, &attr, 0) == 0)
    return;
  attr.nice = 0;
  syscall (SYS_sched_setattr, 0, &attr, 0);
  setpriority (PRIO_PROCESS, 0, RELAY_NICE);
}

static void
setup (int argc, char **argv)
{
  /* Dies with the agent; if the agent died before this line, the parent is already someone else. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (argc > 1 && getppid () != (pid_t) strtol (argv[1], NULL, 10))
    exit (0);
  signal (SIGPIPE, SIG_IGN);
  prioritize ();
  /* Two descriptors per connection: as many as the host allows. */
  struct rlimit rl;
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
    {
      rl.rlim_cur = rl.rlim_max;
      setrlimit (RLIMIT_NOFILE, &rl);
    }
  set_nonblocking (STDIN_FILENO);
  set_nonblocking (STDOUT_FILENO);
  relay_epoll = epoll_create1 (EPOLL_CLOEXEC);
  if (relay_epoll < 0)
    relay_die ("epoll_create1: %s", strerror (errno));
  struct epoll_event in = { .events = EPOLLIN, .data.ptr = &control_source };
  struct epoll_event out = { .events = EPOLLOUT | EPOLLET, .data.ptr = &output_source };
  if (epoll_ctl (relay_epoll, EPOLL_CTL_ADD, STDIN_FILENO, &in) < 0 || epoll_ctl (relay_epoll, EPOLL_CTL_ADD, STDOUT_FILENO, &out) < 0)
    relay_die ("epoll_ctl add stdin/stdout (pipes or sockets expected): %s", strerror (errno));
}

int
main (int argc, char **argv)
{
  setup (argc, argv);
  struct epoll_event events[MAX_EVENTS];
  for (;;)
    {
      tick ();
      int n = epoll_wait (relay_epoll, events, MAX_EVENTS, relay_timer_wait_ms (relay_now_us));
      if (n < 0 && errno != EINTR)
        relay_die ("epoll_wait: %s", strerror (errno));
      tick ();
      for (int i = 0; i < n; i++)
        {
          struct relay_source *src = events[i].data.ptr;
          switch (src->kind)
            {
            case RELAY_CONTROL:
              control ();
              break;
            case RELAY_OUTPUT:
              break; /* flushed below */
            case RELAY_LISTENER:
              if (!container_of (src, struct proxy, src)->closed)
                relay_accept (container_of (src, struct proxy, src));
              break;
            case RELAY_CLIENT:
            case RELAY_UPSTREAM:
              relay_link_event (container_of (src, struct side, src), events[i].events);
              break;
            }
        }
      relay_timer_run (relay_now_us);
      relay_links_reap ();
      while (dead_proxies != NULL)
        {
          struct proxy *p = dead_proxies;
          dead_proxies = p->dead_next;
          free (p);
        }
      if (relay_out.len > 0)
        relay_out_flush ();
    }
}
