#include "logger.h"
#include "error.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static const char *const stream_names[] = { "stdout", "stderr" };

static int
open_current (struct logger *log, char *err, size_t errlen)
{
  log->fd = open (log->cfg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
  if (log->fd < 0)
    return berth_error (err, errlen, errno, "open log file `%s`", log->cfg.path);
  struct stat st;
  log->size = fstat (log->fd, &st) == 0 ? st.st_size : 0;
  return 0;
}

int
logger_open (struct logger *log, const struct log_config *cfg, char *err, size_t errlen)
{
  log->cfg = *cfg;
  log->pending_len[LOG_STDOUT] = log->pending_len[LOG_STDERR] = 0;
  return open_current (log, err, errlen);
}

/* `<file>.N-1` → `<file>.N` … `<file>` → `<file>.1`, oldest dropped, then a new current file (LogWriter.rotate). A
 * reader following the file notices the new inode. Failures leave the current file growing: better than losing
 * output. */
static void
rotate (struct logger *log)
{
  char from[PATH_MAX], to[PATH_MAX];
  for (int i = log->cfg.max_files; i >= 1; i--)
    {
      if (i == 1)
        snprintf (from, sizeof from, "%s", log->cfg.path);
      else
        snprintf (from, sizeof from, "%s.%d", log->cfg.path, i - 1);
      snprintf (to, sizeof to, "%s.%d", log->cfg.path, i);
      rename (from, to);
    }
  if (log->cfg.max_files == 0)
    unlink (log->cfg.path);
  int old = log->fd;
  if (open_current (log, NULL, 0) < 0)
    {
      log->fd = old;
      return;
    }
  close (old);
}

/* RFC 3339 with nanoseconds, UTC: 2006-01-02T15:04:05.999999999Z (what kubelet's CRI logs carry). */
static size_t
format_time (char *buf, size_t len)
{
  struct timespec ts;
  struct tm tm;
  clock_gettime (CLOCK_REALTIME, &ts);
  gmtime_r (&ts.tv_sec, &tm);
  int n = snprintf (buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
  return n > 0 && (size_t) n < len ? (size_t) n : 0;
}

static void
write_record (struct logger *log, enum log_stream stream, int partial, const char *text, size_t len)
{
  char head[64];
  size_t t = format_time (head, sizeof head);
  int h = snprintf (head + t, sizeof head - t, " %s %c ", stream_names[stream], partial ? 'P' : 'F');
  struct iovec iov[] = {
    { .iov_base = head, .iov_len = t + h },
    { .iov_base = (void *) text, .iov_len = len },
    { .iov_base = (void *) "\n", .iov_len = 1 },
  };
  long long record = t + h + len + 1;
  if (log->cfg.max_bytes > 0 && log->size > 0 && log->size + record > log->cfg.max_bytes)
    rotate (log);
  ssize_t w;
  do
    w = writev (log->fd, iov, 3);
  while (w < 0 && errno == EINTR);
  if (w > 0)
    log->size += w;
}

/* Where to cut a full buffer so that no UTF-8 sequence is split: before the last sequence if it is incomplete. */
static size_t
utf8_cut (const char *buf, size_t len)
{
  for (size_t back = 1; back <= 3 && back <= len; back++)
    {
      unsigned char c = buf[len - back];
      if ((c & 0xc0) == 0x80)
        continue; /* a continuation byte: its lead is further back */
      size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
      /* Never cut to nothing (a max_line below a sequence's length). */
      return need > back && back < len ? len - back : len;
    }
  return len;
}

static void
emit_partial (struct logger *log, enum log_stream stream)
{
  char *p = log->pending[stream];
  size_t len = log->pending_len[stream];
  size_t cut = utf8_cut (p, len);
  write_record (log, stream, 1, p, cut);
  memmove (p, p + cut, len - cut);
  log->pending_len[stream] = len - cut;
}

void
logger_feed (struct logger *log, enum log_stream stream, const char *buf, size_t n)
{
  char *pending = log->pending[stream];
  size_t max = log->cfg.max_line;
  while (n > 0)
    {
      const char *nl = memchr (buf, '\n', n);
      size_t seg = nl ? (size_t) (nl - buf) : n;
      n -= seg;
      while (seg > 0)
        {
          size_t room = max - log->pending_len[stream];
          if (room == 0)
            {
              /* More of the line than fits: what is buffered goes out as a partial record. */
              emit_partial (log, stream);
              continue;
            }
          size_t take = seg < room ? seg : room;
          memcpy (pending + log->pending_len[stream], buf, take);
          log->pending_len[stream] += take;
          buf += take;
          seg -= take;
        }
      if (nl)
        {
          write_record (log, stream, 0, pending, log->pending_len[stream]);
          log->pending_len[stream] = 0;
          buf++;
          n--;
        }
    }
}

void
logger_flush (struct logger *log, enum log_stream stream)
{
  if (log->pending_len[stream] > 0)
    write_record (log, stream, 1, log->pending[stream], log->pending_len[stream]);
  log->pending_len[stream] = 0;
}

void
logger_close (struct logger *log)
{
  logger_flush (log, LOG_STDOUT);
  logger_flush (log, LOG_STDERR);
  close (log->fd);
  log->fd = -1;
}
