#include "seccomp.h"
#include "error.h"
#include <errno.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int
seccomp_install (const struct berth_config *cfg, char *err, size_t errlen)
{
  if (cfg->seccomp.len == 0)
    return 0;
  if (syscall (SYS_seccomp, SECCOMP_SET_MODE_FILTER, cfg->seccomp_flags, &cfg->seccomp) == 0)
    return 0;
  /* Kernels without seccomp(2) (< 3.17) only have the prctl form (and no flags). */
  if (errno == ENOSYS && cfg->seccomp_flags == 0 && prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &cfg->seccomp, 0, 0) == 0)
    return 0;
  return berth_error (err, errlen, errno, "install seccomp filter (%u instructions)", cfg->seccomp.len);
}
