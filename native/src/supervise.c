#include "supervise.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Copies what is available from `from` to `to`; returns -1 once `from` is done (EOF, or EIO from a pty master
 * whose slaves are all closed) or `to` refuses. */
static int
pump (int from, int to)
{
  char buf[8192];
  ssize_t n = read (from, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return 0;
  if (n <= 0 || write_all (to, buf, n) < 0)
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

int
supervise (pid_t child, int master, const sigset_t *forward)
{
  sigset_t set = *forward;
  sigaddset (&set, SIGCHLD);
  sigprocmask (SIG_BLOCK, &set, NULL);
  int sfd = signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  int status = 0;
  /* The child may have exited before SIGCHLD was blocked: that signal is gone, so look once before waiting. */
  if (sfd < 0 || waitpid (child, &status, WNOHANG) == child)
    goto done;

  struct pollfd fds[3] = {
    { .fd = sfd, .events = POLLIN },
    { .fd = master, .events = POLLIN },
    { .fd = master >= 0 ? 0 : -1, .events = POLLIN },
  };
  for (;;)
    {
      if (poll (fds, 3, -1) < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (fds[1].revents && pump (master, 1) < 0)
        fds[1].fd = -1;
      if (fds[2].revents && pump (0, master) < 0)
        fds[2].fd = -1;
      if (fds[0].revents)
        {
          struct signalfd_siginfo si;
          while (read (sfd, &si, sizeof si) == (ssize_t) sizeof si)
            if (si.ssi_signo == SIGWINCH && master >= 0)
              copy_window_size (master);
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
  /* What the process wrote just before exiting is still in the pty. */
  if (master >= 0)
    {
      fcntl (master, F_SETFL, O_NONBLOCK);
      while (pump (master, 1) == 0)
        {
          struct pollfd p = { .fd = master, .events = POLLIN };
          if (poll (&p, 1, 0) <= 0)
            break;
        }
    }
  if (sfd >= 0)
    close (sfd);
  return status;
}
