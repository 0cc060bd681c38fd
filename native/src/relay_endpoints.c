/* The rotation of a proxy: smooth weighted round-robin (as nginx does it: over any window the picks follow the
 * weights closely and an endpoint is never picked in long bursts, so a 10% canary sees every tenth connection), and
 * the open-connection count of every endpoint, in the rotation or draining. */
#include "relay.h"
#include "error.h"
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
tried (const struct link *l, const struct endpoint *e)
{
  for (size_t i = 0; i < l->ntried; i++)
    if (strcmp (l->tried[i], e->id) == 0)
      return true;
  return false;
}

struct endpoint *
relay_endpoints_pick (struct proxy *p, const struct link *l)
{
  double total = 0;
  struct endpoint *best = NULL;
  for (size_t i = 0; i < p->nrotation; i++)
    {
      struct endpoint *e = p->rotation[i];
      if (l->ntried > 0 && tried (l, e))
        continue;
      e->current += e->weight;
      total += e->weight;
      if (best == NULL || e->current > best->current)
        best = e;
    }
  if (best != NULL)
    best->current -= total;
  return best;
}

bool
relay_endpoints_has_other (struct proxy *p, const struct endpoint *e, const struct link *l)
{
  for (size_t i = 0; i < p->nrotation; i++)
    if (strcmp (p->rotation[i]->id, e->id) != 0 && !tried (l, p->rotation[i]))
      return true;
  return false;
}

static void
free_endpoint (struct endpoint *e)
{
  free (e->id);
  free (e->group);
  free (e);
}

/* Frees `e` if nothing needs it any more: out of the rotation, no connection left (a report without it says 0). */
static void
forget_if_unused (struct proxy *p, struct endpoint *e)
{
  if (e->in_rotation || e->open > 0)
    return;
  for (struct endpoint **pp = &p->endpoints; *pp != NULL; pp = &(*pp)->next)
    if (*pp == e)
      {
        *pp = e->next;
        free_endpoint (e);
        return;
      }
}

void
relay_endpoint_hold (struct proxy *p, struct endpoint *e)
{
  e->open++;
  relay_report_within (p, e->in_rotation ? RELAY_REPORT_MS : RELAY_DRAIN_REPORT_MS);
}

void
relay_endpoint_release (struct proxy *p, struct endpoint *e)
{
  e->open--;
  relay_report_within (p, e->in_rotation ? RELAY_REPORT_MS : RELAY_DRAIN_REPORT_MS);
  forget_if_unused (p, e);
}

static struct endpoint *
find (struct proxy *p, const char *id)
{
  for (struct endpoint *e = p->endpoints; e != NULL; e = e->next)
    if (strcmp (e->id, id) == 0)
      return e;
  return NULL;
}

int
relay_sockaddr (const char *host, uint16_t port, struct sockaddr_storage *addr, socklen_t *len)
{
  struct sockaddr_in *in4 = (struct sockaddr_in *) addr;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) addr;
  memset (addr, 0, sizeof *addr);
  if (inet_pton (AF_INET, host, &in4->sin_addr) == 1)
    {
      in4->sin_family = AF_INET;
      in4->sin_port = htons (port);
      *len = sizeof *in4;
      return 0;
    }
  if (inet_pton (AF_INET6, host, &in6->sin6_addr) == 1)
    {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons (port);
      *len = sizeof *in6;
      return 0;
    }
  return -1;
}

static int
parse_address (const char *host, const char *port, struct sockaddr_storage *addr, socklen_t *len)
{
  char *end;
  errno = 0;
  unsigned long n = strtoul (port, &end, 10);
  if (errno != 0 || *end != '\0' || n == 0 || n > 65535)
    return -1;
  return relay_sockaddr (host, (uint16_t) n, addr, len);
}

int
relay_endpoints_set (struct proxy *p, char **tokens, size_t n, char *err, size_t errlen)
{
  /* Parsed first: a bad line leaves the rotation as it was. */
  struct sockaddr_storage *addrs = relay_xcalloc ((n + 1) * sizeof *addrs);
  socklen_t *lens = relay_xcalloc ((n + 1) * sizeof *lens);
  double *weights = relay_xcalloc ((n + 1) * sizeof *weights);
  int ret = 0;
  for (size_t i = 0; i < n && ret == 0; i++)
    {
      char **t = tokens + 5 * i;
      char *end;
      weights[i] = strtod (t[2], &end);
      if (*end != '\0' || !isfinite (weights[i]) || weights[i] < 0)
        ret = berth_error (err, errlen, 0, "endpoint %s: bad weight %s", t[0], t[2]);
      else if (parse_address (t[3], t[4], &addrs[i], &lens[i]) < 0)
        ret = berth_error (err, errlen, 0, "endpoint %s: bad address %s port %s", t[0], t[3], t[4]);
    }
  if (ret == 0)
    {
      if (p->rotation_cap < n)
        {
          p->rotation = relay_xrealloc (p->rotation, n * sizeof *p->rotation);
          p->rotation_cap = n;
        }
      p->nrotation = 0;
      for (struct endpoint *e = p->endpoints; e != NULL; e = e->next)
        e->listed = false;
      for (size_t i = 0; i < n; i++)
        {
          char **t = tokens + 5 * i;
          struct endpoint *e = find (p, t[0]);
          if (e == NULL)
            {
              e = relay_xcalloc (sizeof *e);
              e->id = relay_xstrdup (t[0]);
              e->next = p->endpoints;
              p->endpoints = e;
            }
          if (e->group == NULL || strcmp (e->group, t[1]) != 0)
            {
              free (e->group);
              e->group = relay_xstrdup (t[1]);
            }
          e->addr = addrs[i];
          e->addrlen = lens[i];
          e->weight = weights[i];
          if (weights[i] <= 0 || e->listed)
            continue; /* out of the rotation, or listed twice */
          e->listed = true;
          if (!e->in_rotation)
            e->current = 0; /* a newcomer starts the cycle afresh; one that stays keeps its place */
          p->rotation[p->nrotation++] = e;
        }
      for (struct endpoint *e = p->endpoints, *next; e != NULL; e = next)
        {
          next = e->next;
          e->in_rotation = e->listed;
          forget_if_unused (p, e);
        }
    }
  free (addrs);
  free (lens);
  free (weights);
  return ret;
}

void
relay_endpoints_free (struct proxy *p)
{
  for (struct endpoint *e = p->endpoints, *next; e != NULL; e = next)
    {
      next = e->next;
      free_endpoint (e);
    }
  p->endpoints = NULL;
  free (p->rotation);
  p->rotation = NULL;
  p->nrotation = p->rotation_cap = 0;
}
