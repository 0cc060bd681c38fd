/* Capabilities without libcap: bounding set via prctl, the three sets via capset(2), ambient via prctl. */
#ifndef BERTH_CAPABILITIES_H
#define BERTH_CAPABILITIES_H
#include "config.h"
#include <stddef.h>

/* Drops every capability not in cfg->cap_bounding from the bounding set (needs CAP_SETPCAP: do it while still root). */
int caps_drop_bounding (const struct berth_config *cfg, char *err, size_t errlen);

/* Sets effective/permitted/inheritable, then raises the ambient ones (which must be permitted and inheritable). */
int caps_apply (const struct berth_config *cfg, char *err, size_t errlen);

/* Sets effective = permitted = mask, inheritable = 0 (for a temporary state between setuid and the final sets). */
int caps_set_all (uint64_t mask, char *err, size_t errlen);

#endif
