#include "supervise.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

enum
{
  FD_SIGNALS,
  FD_MASTER,
  FD_STDIN,
  FD_RESIZE,
  FD_LOG_STDOUT,
  FD_LOG_STDERR,
  FD_COUNT
};

static int
write_all (int fd, const char *buf, size_t len)
{
  while (len > 0)
    {
      ssize_t w = write (fd, buf, len);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      buf += w;
      len -= w;
    }
  return 0;
}

/* Copies what is available from `from` to the fd `to`, or into the log as `stream` when `log` is set; returns -1
 * once `from` is done (EOF, or EIO from a pty master whose slaves are all closed) or `to` refuses, 1 when nothing
 * was available (EAGAIN). */
static int
pump (int from, int to, struct logger *log, enum log_stream stream)
{
  char buf[8192];
  ssize_t n = read (from, buf, sizeof buf);
  if (n < 0 && errno == EINTR)
    return 0;
  if (n < 0 && errno == EAGAIN)
    return 1;
  if (n <= 0)
    return -1;
  if (log != NULL)
    logger_feed (log, stream, buf, n);
  else if (write_all (to, buf, n) < 0)
    return -1;
  return 0;
}

/* When our stdin is a terminal (berth runtime exec -t in a shell), its size is the pty's: setting it makes the
 * kernel send SIGWINCH to the process' foreground group. */
static void
copy_window_size (int master)
{
  struct winsize ws;
  if (ioctl (0, TIOCGWINSZ, &ws) == 0)
    ioctl (master, TIOCSWINSZ, &ws);
}

/* One record from the resize channel; -1 once it is closed. */
static int
apply_resize (int fd, int master)
{
  unsigned char rec[4];
  ssize_t n = read (fd, rec, sizeof rec);
  if (n < 0 && errno == EINTR)
    return 0;
  if (n != (ssize_t) sizeof rec)
    return -1; /* EOF, or a writer that broke the 4-byte records: stop listening */
  struct winsize ws = { .ws_row = rec[0] | rec[1] << 8, .ws_col = rec[2] | rec[3] << 8 };
  ioctl (master, TIOCSWINSZ, &ws);
  return 0;
}

/* An output fd is done: the unfinished line of its stream goes to the log. */
static void
finish_output (struct pollfd *p, const struct supervise_io *io, enum log_stream stream)
{
  if (io->log != NULL)
    logger_flush (io->log, stream);
  p->fd = -1;
}

/* After the exit: what was written before it is in the pipes and the pty. With a pid namespace every writer is
 * gone by now (the kernel reaps the whole namespace before its init), so this is all of it; a process left over in
 * a shared pid namespace may write later, and that is not waited for. */
static void
drain (struct pollfd *fds, const struct supervise_io *io)
{
  static const int outputs[] = { FD_MASTER, FD_LOG_STDOUT, FD_LOG_STDERR };
  for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++)
    {
      struct pollfd *p = &fds[outputs[i]];
      if (p->fd < 0)
        continue;
      enum log_stream stream = outputs[i] == FD_LOG_STDERR ? LOG_STDERR : LOG_STDOUT;
      fcntl (p->fd, F_SETFL, fcntl (p->fd, F_GETFL) | O_NONBLOCK);
      while (pump (p->fd, 1, io->log, stream) == 0)
        ;
      finish_output (p, io, stream);
    }
}

int
supervise (pid_t child, const struct supervise_io *io, const sigset_t *forward)
{
  sigset_t set = *forward;
  sigaddset (&set, SIGCHLD);
  sigprocmask (SIG_BLOCK, &set, NULL);
  int sfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int status = 0;
  struct pollfd fds[FD_COUNT] = {
    [FD_SIGNALS] = { .fd = sfd, .events = POLLIN },
    [FD_MASTER] = { .fd = io->master, .events = POLLIN },
    [FD_STDIN] = { .fd = io->master >= 0 ? 0 : -1, .events = POLLIN },
    [FD_RESIZE] = { .fd = io->master >= 0 ? io->resize_fd : -1, .events = POLLIN },
    [FD_LOG_STDOUT] = { .fd = io->log_fds[0], .events = POLLIN },
    [FD_LOG_STDERR] = { .fd = io->log_fds[1], .events = POLLIN },
  };
  /* The child may have exited before SIGCHLD was blocked: that signal is gone, so look once before waiting. */
  if (sfd < 0 || waitpid (child, &status, WNOHANG) == child)
    goto done;

  for (;;)
    {
      if (poll (fds, FD_COUNT, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (fds[FD_MASTER].revents && pump (io->master, 1, io->log, LOG_STDOUT) < 0)
        finish_output (&fds[FD_MASTER], io, LOG_STDOUT);
      if (fds[FD_STDIN].revents && pump (0, io->master, NULL, LOG_STDOUT) < 0)
        fds[FD_STDIN].fd = -1;
      if (fds[FD_RESIZE].revents && apply_resize (io->resize_fd, io->master) < 0)
        fds[FD_RESIZE].fd = -1;
      if (fds[FD_LOG_STDOUT].revents && pump (io->log_fds[0], -1, io->log, LOG_STDOUT) < 0)
        finish_output (&fds[FD_LOG_STDOUT], io, LOG_STDOUT);
      if (fds[FD_LOG_STDERR].revents && pump (io->log_fds[1], -1, io->log, LOG_STDERR) < 0)
        finish_output (&fds[FD_LOG_STDERR], io, LOG_STDERR);
      if (fds[FD_SIGNALS].revents)
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof si) == (ssize_t) sizeof si)
            if (si.ssi_signo == SIGWINCH && io->master >= 0)
              copy_window_size (io->master);
            else if (si.ssi_signo != SIGCHLD)
              kill (child, si.ssi_signo);
          if (waitpid (child, &status, WNOHANG) == child)
            goto done;
        }
    }

done:
  if (waitpid (child, &status, WNOHANG) == 0)
    while (waitpid (child, &status, 0) < 0 && errno == EINTR)
      ;
  drain (fds, io);
  if (sfd >= 0)
    close (sfd);
  return status;
}
