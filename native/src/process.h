/* The process' own attributes: rlimits, oom score, user and groups, no_new_privs, and the final execve. */
#ifndef BERTH_PROCESS_H
#define BERTH_PROCESS_H
#include "config.h"
#include <stddef.h>

/* Writes the sysctls (into the container's /proc: after pivot_root, before /proc/sys is made read-only). */
int process_set_sysctls (const struct berth_config *cfg, char *err, size_t errlen);

int process_set_rlimits (const struct berth_config *cfg, char *err, size_t errlen);
int process_set_oom_score_adj (const struct berth_config *cfg, char *err, size_t errlen);

/* setgroups + setresgid + setresuid (+ umask) to the configured user, keeping the permitted capabilities across the uid change
 * (PR_SET_KEEPCAPS) so that caps_apply can then set exactly the configured sets. */
int process_set_user (const struct berth_config *cfg, char *err, size_t errlen);

int process_set_no_new_privs (char *err, size_t errlen);

/* execve argv[0], searched in the container's PATH when it has no slash (execvpe is not async-signal-safe).
 * Returns only on failure. */
int process_exec (const struct berth_config *cfg, char *err, size_t errlen);

#endif
