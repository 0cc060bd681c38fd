#include "error.h"
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
berth_error (char *err, size_t errlen, int errnum, const char *fmt, ...)
{
  if (err != NULL && errlen > 0)
    {
      va_list ap;
      va_start (ap, fmt);
      int n = vsnprintf (err, errlen, fmt, ap);
      va_end (ap);
      if (errnum != 0 && n >= 0 && (size_t) n < errlen)
        {
          char buf[128];
          /* GNU strerror_r returns the message, which may not live in buf. */
          const char *s = strerror_r (errnum, buf, sizeof buf);
          snprintf (err + n, errlen - n, ": %s", s);
        }
    }
  return errnum > 0 ? -errnum : -1;
}

void
cleanup_fdp (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

void
cleanup_freep (void *p)
{
  free (*(void **) p);
}
