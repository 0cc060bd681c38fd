#include "capabilities.h"
#include "error.h"
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int
caps_drop_bounding (const struct berth_config *cfg, char *err, size_t errlen)
{
  for (int cap = 0; cap <= cfg->last_cap && cap < 64; cap++)
    if (!(cfg->cap_bounding & (1ULL << cap)) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return berth_error (err, errlen, errno, "drop capability %d from the bounding set", cap);
  return 0;
}

static int
capset3 (uint64_t effective, uint64_t permitted, uint64_t inheritable, char *err, size_t errlen)
{
  struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct data[2] = {
    { .effective = (uint32_t) effective, .permitted = (uint32_t) permitted, .inheritable = (uint32_t) inheritable },
    { .effective = (uint32_t) (effective >> 32), .permitted = (uint32_t) (permitted >> 32),
      .inheritable = (uint32_t) (inheritable >> 32) },
  };
  if (syscall (SYS_capset, &hdr, data) < 0)
    return berth_error (err, errlen, errno, "capset");
  return 0;
}

int
caps_set_all (uint64_t mask, char *err, size_t errlen)
{
  return capset3 (mask, mask, 0, err, errlen);
}

int
caps_apply (const struct berth_config *cfg, char *err, size_t errlen)
{
  int ret = capset3 (cfg->cap_effective, cfg->cap_permitted, cfg->cap_inheritable, err, errlen);
  if (ret < 0)
    return ret;
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
    return berth_error (err, errlen, errno, "clear ambient capabilities");
  /* The kernel only lets a capability be ambient if it is permitted and inheritable; runc skips the others with a
   * warning (its default spec asks for ambient caps with no inheritable ones), and so do we, silently. */
  uint64_t ambient = cfg->cap_ambient & cfg->cap_permitted & cfg->cap_inheritable;
  for (int cap = 0; cap <= cfg->last_cap && cap < 64; cap++)
    if ((ambient & (1ULL << cap)) && prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return berth_error (err, errlen, errno, "raise ambient capability %d", cap);
  return 0;
}
