/* Installs a prepared seccomp BPF program (compiled in TypeScript through libseccomp, node-agent/runtime/seccomp). */
#ifndef BERTH_SECCOMP_H
#define BERTH_SECCOMP_H
#include "config.h"
#include <stddef.h>

/* No-op when the config has no program. Needs no_new_privs or CAP_SYS_ADMIN (seccomp(2)). */
int seccomp_install (const struct berth_config *cfg, char *err, size_t errlen);

#endif
