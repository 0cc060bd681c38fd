/* The container's log, written by the shim itself: the container's stdout and stderr are pipes to the shim, which
 * appends CRI log records (`<RFC3339Nano> <stdout|stderr> <P|F> <text>\n`, node-agent/logs/format.ts) to a file and
 * rotates it by size to `<file>.1 … <file>.N` (node-agent/logs/writer.ts is the reference). Because the shim
 * outlives the agent, the log keeps being written while no agent runs.
 *
 * Memory is fixed: one line buffer of LOG_LINE_MAX bytes per stream; a longer line becomes partial (P) records. */
#ifndef BERTH_LOGGER_H
#define BERTH_LOGGER_H
#include <stddef.h>

#define LOG_LINE_MAX 16384

enum log_stream
{
  LOG_STDOUT,
  LOG_STDERR,
};

struct log_config
{
  const char *path; /* NULL: no log (the container's stdio is what the agent gave) */
  long long max_bytes;
  int max_files;
  int max_line; /* 1..LOG_LINE_MAX */
};

struct logger
{
  struct log_config cfg;
  int fd;
  long long size;
  char pending[2][LOG_LINE_MAX]; /* the unfinished line of each stream */
  size_t pending_len[2];
};

/* Opens (appends to) cfg->path, O_CLOEXEC. */
int logger_open (struct logger *log, const struct log_config *cfg, char *err, size_t errlen);

/* Adds `n` bytes the container wrote on `stream`: every complete line becomes an F record, and a line longer than
 * max_line is cut into P records (never inside a UTF-8 sequence). Write failures (a full disk) drop the record:
 * the container must never block on its log. */
void logger_feed (struct logger *log, enum log_stream stream, const char *buf, size_t n);

/* Writes the unfinished line of `stream` as a P record (its writer is gone). */
void logger_flush (struct logger *log, enum log_stream stream);

/* Flushes both streams and closes the file. */
void logger_close (struct logger *log);

#endif
