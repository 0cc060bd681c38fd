/* Memory, buffers and the report stream to the agent. */
#include "relay.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Past this much unread output (an agent not reading), outcomes are dropped: counts and answers still go out. */
#define OUT_LIMIT (16u << 20)

struct relay_buf relay_out;

void
relay_die (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  fputs ("berth-proxy: ", stderr);
  vfprintf (stderr, fmt, ap);
  fputc ('\n', stderr);
  va_end (ap);
  exit (1);
}

void *
relay_xrealloc (void *p, size_t size)
{
  void *q = realloc (p, size);
  if (q == NULL)
    relay_die ("out of memory (%zu bytes)", size);
  return q;
}

void *
relay_xcalloc (size_t size)
{
  void *p = calloc (1, size);
  if (p == NULL)
    relay_die ("out of memory (%zu bytes)", size);
  return p;
}

char *
relay_xstrdup (const char *s)
{
  char *d = strdup (s);
  if (d == NULL)
    relay_die ("out of memory (%zu bytes)", strlen (s));
  return d;
}

static void
reserve (struct relay_buf *b, size_t more)
{
  if (b->len + more <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more)
    cap *= 2;
  b->data = relay_xrealloc (b->data, cap);
  b->cap = cap;
}

void
relay_buf_put (struct relay_buf *b, const char *data, size_t len)
{
  reserve (b, len);
  memcpy (b->data + b->len, data, len);
  b->len += len;
}

void
relay_buf_printf (struct relay_buf *b, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  reserve (b, (size_t) n + 1);
  va_start (ap, fmt);
  vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
  va_end (ap);
  b->len += (size_t) n;
}

void
relay_buf_free (struct relay_buf *b)
{
  free (b->data);
  *b = (struct relay_buf){ 0 };
}

void
relay_out_flush (void)
{
  size_t off = 0;
  while (off < relay_out.len)
    {
      ssize_t w = write (STDOUT_FILENO, relay_out.data + off, relay_out.len - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0 && errno == EAGAIN)
        break; /* the rest goes when the agent has read (EPOLLOUT on stdout) */
      if (w < 0)
        exit (0); /* the agent is gone */
      off += (size_t) w;
    }
  memmove (relay_out.data, relay_out.data + off, relay_out.len - off);
  relay_out.len -= off;
}

void
relay_record (struct proxy *p, const char *group, bool ok, int64_t latency_us)
{
  if (relay_out.len > OUT_LIMIT)
    return;
  if (p->outcomes.len > 0)
    relay_buf_put (&p->outcomes, ",", 1);
  relay_buf_printf (&p->outcomes, "%s%c", group, ok ? '+' : '!');
  if (latency_us >= 0)
    relay_buf_printf (&p->outcomes, "%lld", (long long) ((latency_us + 5) / 10)); /* hundredths of a millisecond */
  relay_report_within (p, RELAY_REPORT_MS);
}

void
relay_report (struct proxy *p)
{
  relay_timer_cancel (&p->report_timer);
  relay_buf_printf (&relay_out, "r %lu %lu ", p->id, p->version);
  bool any = false;
  for (struct endpoint *e = p->endpoints; e != NULL; e = e->next)
    if (e->open > 0)
      {
        relay_buf_printf (&relay_out, "%s%s=%u", any ? "," : "", e->id, e->open);
        any = true;
      }
  if (!any)
    relay_buf_put (&relay_out, "-", 1);
  relay_buf_put (&relay_out, " ", 1);
  if (p->outcomes.len > 0)
    relay_buf_put (&relay_out, p->outcomes.data, p->outcomes.len);
  else
    relay_buf_put (&relay_out, "-", 1);
  relay_buf_put (&relay_out, "\n", 1);
  p->outcomes.len = 0;
}

void
relay_report_within (struct proxy *p, unsigned ms)
{
  int64_t due = relay_now_us + (int64_t) ms * 1000;
  if (relay_timer_armed (&p->report_timer) && p->report_timer.due_us <= due)
    return;
  relay_timer_arm (&p->report_timer, due);
}
