/* The data path: accept, pick an endpoint, connect (retried on another endpoint before any byte goes back), relay
 * both directions with half-close, and count HTTP outcomes from the first bytes of each request and response.
 * Sockets are edge-triggered: each side remembers whether it may be read or written, so no epoll_ctl call is made
 * after a socket is added. */
#include "relay.h"
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* After the process ran out of file descriptors, accepting pauses this long (the listener would wake it at once). */
#define ACCEPT_PAUSE_MS 100

/* One read's worth, shared by every link: a link keeps bytes of its own only while its peer cannot take them. */
static char scratch[64 * 1024];
/* Links closed during this round of events. */
static struct link *dead;

static void link_connect (struct link *l);

static void
watch (struct side *s)
{
  struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = &s->src };
  if (epoll_ctl (relay_epoll, EPOLL_CTL_ADD, s->fd, &ev) < 0)
    relay_die ("epoll_ctl add fd %d: %s", s->fd, strerror (errno));
}

static void
side_init (struct side *s, enum relay_kind kind, int fd)
{
  free (s->backlog);
  *s = (struct side){ .src = { kind }, .fd = fd };
}

/* Nagle off: each chunk goes on as it came (accepted sockets inherit it from their listener). */
void
relay_no_delay (int fd)
{
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* Whether data starts like an HTTP/1.x request line: a method of 3 to 7 capitals, then a space. */
static bool
is_http_request (const char *d, size_t n)
{
  for (size_t i = 0; i < n && i < 8; i++)
    {
      if (d[i] == ' ')
        return i >= 3;
      if (d[i] < 'A' || d[i] > 'Z')
        return false;
    }
  return false;
}

/* The status code of data starting with an HTTP/1.x status line (`HTTP/1.1 200 ...`), or 0. */
static int
status_of (const char *d, size_t n)
{
  if (n < 12 || memcmp (d, "HTTP/", 5) != 0 || d[8] != ' ')
    return 0;
  int code = 0;
  for (int i = 9; i < 12; i++)
    {
      if (d[i] < '0' || d[i] > '9')
        return 0;
      code = code * 10 + (d[i] - '0');
    }
  return code >= 100 ? code : 0;
}

/* Closes the upstream socket (a failed attempt, or the end of the link) and releases its endpoint's count. */
static void
close_upstream (struct link *l)
{
  if (l->upstream.fd >= 0)
    close (l->upstream.fd);
  side_init (&l->upstream, RELAY_UPSTREAM, -1);
  struct endpoint *e = l->endpoint;
  l->endpoint = NULL;
  if (e != NULL)
    relay_endpoint_release (l->proxy, e);
}

/* Ends the link, whether both directions ended in order or one failed (its memory goes after this round). */
static void
link_close (struct link *l)
{
  if (l->closed)
    return;
  l->closed = true;
  struct proxy *p = l->proxy;
  relay_timer_cancel (&l->timer);
  if (l->request_us >= 0 && l->endpoint != NULL)
    relay_record (p, l->endpoint->group, false, -1); /* closed with a request unanswered */
  close (l->client.fd);
  side_init (&l->client, RELAY_CLIENT, -1);
  close_upstream (l);
  for (size_t i = 0; i < l->ntried; i++)
    free (l->tried[i]);
  free (l->tried);
  if (l->prev != NULL)
    l->prev->next = l->next;
  else
    p->links = l->next;
  if (l->next != NULL)
    l->next->prev = l->prev;
  l->dead_next = dead;
  dead = l;
}

/* The connect to the link's endpoint failed before any byte went back: count it, try another endpoint. */
static void
attempt_failed (struct link *l)
{
  struct endpoint *e = l->endpoint;
  relay_record (l->proxy, e->group, false, -1);
  l->tried = relay_xrealloc (l->tried, (l->ntried + 1) * sizeof *l->tried);
  l->tried[l->ntried++] = relay_xstrdup (e->id);
  relay_timer_cancel (&l->timer);
  close_upstream (l);
  link_connect (l);
}

static void
link_timer (struct relay_timer *t)
{
  struct link *l = container_of (t, struct link, timer);
  if (l->waiting)
    link_close (l); /* no endpoint came within the wait */
  else if (!l->connected && relay_endpoints_has_other (l->proxy, l->endpoint, l))
    attempt_failed (l);
  /* else a slow connect with nothing else to try: it may be a SYN the kernel is still retrying, so it goes on */
}

/* No endpoint left to try: wait for the rotation to change, until the link's wait budget is spent. */
static void
link_wait (struct link *l)
{
  int64_t end = l->accepted_us + (int64_t) l->proxy->endpoint_wait_ms * 1000;
  if (end <= relay_now_us)
    {
      link_close (l);
      return;
    }
  l->waiting = true;
  relay_timer_arm (&l->timer, end);
}

/* Writes what `to` takes now and keeps the rest as its backlog; -1 if the link failed. */
static int
send_or_keep (struct link *l, struct side *to, const char *d, size_t n)
{
  size_t off = 0;
  while (to->writable && off < n)
    {
      ssize_t w = send (to->fd, d + off, n - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && errno == EAGAIN)
        to->writable = false;
      else if (w < 0)
        {
          link_close (l);
          return -1;
        }
      else
        off += (size_t) w;
    }
  if (off < n)
    {
      to->backlog = relay_xrealloc (NULL, n - off);
      memcpy (to->backlog, d + off, n - off);
      to->backlog_len = n - off;
      to->backlog_off = 0;
    }
  return 0;
}

static int
flush (struct link *l, struct side *to)
{
  while (to->backlog_off < to->backlog_len)
    {
      ssize_t w = send (to->fd, to->backlog + to->backlog_off, to->backlog_len - to->backlog_off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && errno == EAGAIN)
        {
          to->writable = false;
          return 0;
        }
      if (w < 0)
        {
          link_close (l);
          return -1;
        }
      to->backlog_off += (size_t) w;
    }
  free (to->backlog);
  to->backlog = NULL;
  to->backlog_len = to->backlog_off = 0;
  return 0;
}

/* HTTP-aware counting: a request is timed from its first byte; the first bytes read after it are its response. */
static void
observe (struct link *l, const struct side *from, const char *d, size_t n)
{
  if (from == &l->client)
    {
      /* Only HTTP requests are timed and counted: other protocols (a client that never hears back, a banner) are no errors. */
      if (l->request_us < 0 && is_http_request (d, n))
        l->request_us = relay_now_us;
      return;
    }
  if (l->request_us < 0)
    return; /* the rest of a response */
  int status = status_of (d, n);
  if (status != 0)
    relay_record (l->proxy, l->endpoint->group, status < 500, relay_now_us - l->request_us);
  l->request_us = -1;
}

/* Moves bytes from `from` to `to` until one would block; forwards `from`'s EOF once `to` has everything. -1 if the
 * link failed (and is closed). */
static int
pump (struct link *l, struct side *from, struct side *to)
{
  if (to->backlog_len > 0)
    {
      if (!to->writable || flush (l, to) < 0 || to->backlog_len > 0)
        return l->closed ? -1 : 0;
    }
  while (from->readable && !from->eof)
    {
      ssize_t n = read (from->fd, scratch, sizeof scratch);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        {
          from->readable = false;
          break;
        }
      if (n < 0)
        {
          link_close (l);
          return -1;
        }
      if (n == 0)
        {
          from->eof = true;
          break;
        }
      if (l->proxy->http_aware)
        observe (l, from, scratch, (size_t) n);
      if (send_or_keep (l, to, scratch, (size_t) n) < 0)
        return -1;
      if (to->backlog_len > 0)
        return 0;
      /* A short read emptied the socket: the next byte brings a new edge (unless a hang-up was seen: read to EOF). */
      if ((size_t) n < sizeof scratch && !from->hangup)
        from->readable = false;
    }
  if (from->eof && !to->shut)
    {
      /* Half-close: the other direction goes on, unless it is over too (then closing the socket sends the FIN). */
      if (!(to->eof && from->shut))
        shutdown (to->fd, SHUT_WR);
      to->shut = true;
    }
  return 0;
}

static void
link_pump (struct link *l)
{
  if (pump (l, &l->client, &l->upstream) < 0 || pump (l, &l->upstream, &l->client) < 0)
    return;
  if (l->client.eof && l->upstream.eof && l->client.shut && l->upstream.shut)
    link_close (l); /* both directions ended in order */
}

static void
link_connected (struct link *l)
{
  relay_timer_cancel (&l->timer);
  l->connected = true;
  l->upstream.writable = true;
  l->client.readable = true; /* what the client sent meanwhile waits in its socket */
  link_pump (l);
}

static void
link_connect (struct link *l)
{
  struct proxy *p = l->proxy;
  struct endpoint *e = relay_endpoints_pick (p, l);
  if (e == NULL)
    {
      link_wait (l);
      return;
    }
  l->endpoint = e;
  relay_endpoint_hold (p, e); /* from the pick: a connect in progress holds a drain too */
  int fd = socket (e->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0)
    {
      attempt_failed (l);
      return;
    }
  side_init (&l->upstream, RELAY_UPSTREAM, fd);
  relay_no_delay (fd);
  watch (&l->upstream);
  if (connect (fd, (struct sockaddr *) &e->addr, e->addrlen) == 0)
    link_connected (l);
  else if (errno == EINPROGRESS)
    relay_timer_arm (&l->timer, relay_now_us + (int64_t) p->connect_timeout_ms * 1000);
  else
    attempt_failed (l);
}

void
relay_accept_resume (struct relay_timer *t)
{
  struct proxy *p = container_of (t, struct proxy, accept_timer);
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &p->src };
  epoll_ctl (relay_epoll, EPOLL_CTL_MOD, p->listen_fd, &ev);
}

void
relay_accept (struct proxy *p)
{
  for (;;)
    {
      int fd = accept4 (p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
        continue;
      if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM))
        {
          struct epoll_event ev = { .events = 0, .data.ptr = &p->src };
          epoll_ctl (relay_epoll, EPOLL_CTL_MOD, p->listen_fd, &ev);
          relay_timer_arm (&p->accept_timer, relay_now_us + ACCEPT_PAUSE_MS * 1000);
        }
      if (fd < 0)
        return;
      struct link *l = relay_xcalloc (sizeof *l);
      l->proxy = p;
      side_init (&l->client, RELAY_CLIENT, fd);
      side_init (&l->upstream, RELAY_UPSTREAM, -1);
      l->client.writable = true;
      l->accepted_us = relay_now_us;
      l->request_us = -1;
      relay_timer_init (&l->timer, link_timer);
      l->next = p->links;
      if (p->links != NULL)
        p->links->prev = l;
      p->links = l;
      watch (&l->client);
      link_connect (l);
    }
}

void
relay_link_event (struct side *s, uint32_t events)
{
  bool upstream = s->src.kind == RELAY_UPSTREAM;
  struct link *l = upstream ? container_of (s, struct link, upstream) : container_of (s, struct link, client);
  if (l->closed)
    return;
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    s->readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
    s->hangup = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
    s->writable = true;
  if (l->connected)
    link_pump (l);
  else if (upstream && (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)))
    {
      /* Writable without an error is connected (refused, unreachable and reset all raise EPOLLERR). */
      if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) == EPOLLOUT)
        link_connected (l);
      else
        attempt_failed (l);
    }
  else if (!upstream && (events & (EPOLLHUP | EPOLLERR)))
    link_close (l); /* the client went away before it was connected anywhere */
}

void
relay_links_retry_waiting (struct proxy *p)
{
  if (p->nrotation == 0)
    return;
  for (struct link *l = p->links, *next; l != NULL; l = next)
    {
      next = l->next;
      if (!l->waiting)
        continue;
      l->waiting = false;
      relay_timer_cancel (&l->timer);
      link_connect (l);
    }
}

void
relay_links_close_all (struct proxy *p)
{
  while (p->links != NULL)
    link_close (p->links);
}

void
relay_links_reap (void)
{
  while (dead != NULL)
    {
      struct link *l = dead;
      dead = l->dead_next;
      free (l);
    }
}
