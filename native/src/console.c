#include "console.h"
#include "error.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

int
console_setup (const struct berth_config *cfg, int sock_fd, char *err, size_t errlen)
{
  cleanup_fd int master = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0)
    return berth_error (err, errlen, errno, "open /dev/ptmx (process.terminal needs a devpts mount on /dev/pts)");
  int unlock = 0;
  if (ioctl (master, TIOCSPTLCK, &unlock) < 0)
    return berth_error (err, errlen, errno, "unlock the pty");
  /* TIOCGPTPEER opens the slave through the master: no path lookup an image could redirect. */
  cleanup_fd int slave = ioctl (master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0)
    return berth_error (err, errlen, errno, "open the pty slave");
  if (cfg->console_rows > 0)
    {
      struct winsize ws = { .ws_row = cfg->console_rows, .ws_col = cfg->console_cols };
      if (ioctl (slave, TIOCSWINSZ, &ws) < 0)
        return berth_error (err, errlen, errno, "set the terminal size");
    }

  char control[CMSG_SPACE (sizeof (int))] = { 0 };
  char byte = 0;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
  struct cmsghdr *cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &master, sizeof (int));
  if (sendmsg (sock_fd, &msg, MSG_NOSIGNAL) < 0)
    return berth_error (err, errlen, errno, "send the pty master to the shim");

  /* A new session whose controlling terminal is the slave: job control and ^C work inside the container. */
  if (setsid () < 0 || ioctl (slave, TIOCSCTTY, 0) < 0)
    return berth_error (err, errlen, errno, "make the pty the controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup2 (slave, fd) < 0)
      return berth_error (err, errlen, errno, "dup the pty onto fd %d", fd);
  return 0;
}

int
console_receive (int sock_fd)
{
  char control[CMSG_SPACE (sizeof (int))] = { 0 };
  char byte;
  struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
  ssize_t n;
  do
    n = recvmsg (sock_fd, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  struct cmsghdr *cmsg = n > 0 ? CMSG_FIRSTHDR (&msg) : NULL;
  if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS)
    return -1;
  int fd;
  memcpy (&fd, CMSG_DATA (cmsg), sizeof (int));
  return fd;
}
