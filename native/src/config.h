/* The container configuration the shim receives from the agent, parsed once before any clone.
 *
 * Wire format (written by node-agent/runtime/berth/serialize.ts): a file of NUL-terminated tokens; each record
 * is an op name followed by a fixed number of arguments (see the table in config.c). All OCI interpretation
 * (option names, capability names, signal names) happens in TypeScript; this side only executes flat values. */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H
#include "logger.h"
#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define MAX_MOUNTS 128
#define MAX_DEVICES 64
#define MAX_PATHS 64
#define MAX_RLIMITS 16
#define MAX_GROUPS 64
#define MAX_ARGS 1024
#define MAX_ENV 1024
#define MAX_CGROUPS 16

enum berth_ns
{
  NS_USER, /* first: the other namespaces are created or joined as its members */
  NS_PID,
  NS_IPC,
  NS_UTS,
  NS_NET,
  NS_CGROUP,
  NS_MNT, /* last among joins: entering it changes what every later path means */
  NS_COUNT
};

/* One step of building the filesystem, in config order: a mount, or (is_symlink) a symlink source -> target. */
struct berth_mount
{
  int is_symlink;
  const char *source;
  const char *target; /* container path, resolved inside the rootfs at mount time (mounts.c) */
  const char *type;
  unsigned long flags;       /* MS_* incl. MS_BIND/MS_REC; MS_RDONLY etc. applied by a remount for binds */
  unsigned long propagation; /* MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (| MS_REC), or 0 */
  const char *data;
};

struct berth_device
{
  const char *path; /* the same path in the container and on the host (bind-mounted when mknod is refused) */
  mode_t mode;        /* S_IFCHR/S_IFBLK/S_IFIFO | permissions */
  dev_t dev;
  uid_t uid;
  gid_t gid;
  int umask; /* -1: keep the inherited one */
};

struct berth_rlimit
{
  int resource;
  struct rlimit limit;
};

struct berth_config
{
  int exec_mode; /* 0: create a container; 1: exec into the running container `target_pid` */

  /* namespaces: new_ns_flags are CLONE_NEW* to create; ns_path[i] non-NULL means join that one */
  int new_ns_flags;
  const char *ns_path[NS_COUNT];
  const char *uid_map, *gid_map;

  const char *rootfs;
  int rootfs_readonly;
  unsigned long rootfs_propagation;
  struct berth_mount mounts[MAX_MOUNTS];
  size_t n_mounts;
  struct berth_device devices[MAX_DEVICES];
  size_t n_devices;
  const char *masked[MAX_PATHS];
  size_t n_masked;
  const char *readonly[MAX_PATHS];
  size_t n_readonly;
  const char *hostname;
  const char *domainname;
  const char *sysctl_path[MAX_PATHS]; /* /proc/sys/... of the container's own namespaces */
  const char *sysctl_value[MAX_PATHS];
  size_t n_sysctls;

  struct berth_rlimit rlimits[MAX_RLIMITS];
  size_t n_rlimits;
  int has_oom_score_adj;
  int oom_score_adj;

  uid_t uid;
  gid_t gid;
  int umask; /* -1: keep the inherited one */
  gid_t groups[MAX_GROUPS];
  size_t n_groups;
  int has_caps;
  uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
  int last_cap; /* /proc/sys/kernel/cap_last_cap, read before the clone */
  int no_new_privs;
  struct sock_fprog seccomp; /* len 0: no filter */
  unsigned int seccomp_flags; /* SECCOMP_FILTER_FLAG_* */

  char *argv[MAX_ARGS + 1];
  size_t n_args;
  char *envp[MAX_ENV + 1];
  size_t n_env;
  const char *path_env; /* the PATH=... value from envp, for the executable lookup */
  const char *cwd;

  int terminal; /* allocate a pty (console.c); the shim relays it to the stdio it was given */
  int console_rows, console_cols;

  const char *fifo;      /* exec.fifo: the init blocks reading it until `start` */
  const char *exit_file; /* where the shim records the init's exit status */
  struct log_config log; /* log.path set: the shim writes the container's stdout/stderr there (logger.h) */
  int init;              /* run a minimal reaping, signal-forwarding pid 1 */

  pid_t target_pid; /* exec mode */
  const char *cgroup_procs[MAX_CGROUPS];
  size_t n_cgroups;
};

/* Parses buf (len bytes, kept alive by the caller: strings point into it) into cfg. Also reads the files the
 * config names (seccomp program) and the host facts the child needs (cap_last_cap, host rlimit ceilings),
 * so that nothing is allocated or looked up after the clone. */
int config_parse (char *buf, size_t len, struct berth_config *cfg, char *err, size_t errlen);

/* Reads a whole file (`path` relative to `dirfd`, or AT_FDCWD) into a malloc'd, NUL-terminated buffer. */
int read_file (int dirfd, const char *path, char **out, size_t *len, char *err, size_t errlen);

#endif
