/**
 * A secure default config.json, equal in effect to what Docker generates for `docker run`
 * (except that creating device nodes is refused, see defaultDeviceRules):
 * Docker's default capabilities, masked and read-only paths, mounts, device rules, its seccomp
 * profile, noNewPrivileges, and an open-files rlimit of 1024:1024 (at or below the host's hard
 * limits: this host's bounding set lacks CAP_SYS_RESOURCE, so raising a hard limit would fail).
 */
import { defaultSeccompProfile } from '../seccomp/profile';
import {
  OCI_VERSION,
  type LinuxDeviceCgroup,
  type LinuxNamespace,
  type LinuxResources,
  type Mount,
  type RuntimeSpec,
} from './oci';

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Paths that leak host information or offer kernel attack surface: covered by /dev/null or an empty read-only tmpfs. */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Kernel tunables reachable through /proc that a container may read but never write. */
export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

export const DEFAULT_ENV: readonly string[] = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

const DEFAULT_NAMESPACES: readonly LinuxNamespace['type'][] = ['pid', 'network', 'ipc', 'uts', 'mount'];

function defaultMounts(): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
}

const dev = (type: 'c' | 'b' | 'a', major: number | null, minor: number | null, access: string): LinuxDeviceCgroup => ({
  allow: true,
  type,
  major,
  minor,
  access,
});

/**
 * Docker's device cgroup minus its blanket `c *:* m` / `b *:* m`: deny everything, then allow the
 * standard nodes. Docker lets a container mknod any (unusable) device node; Berth's default refuses
 * creating devices at all (mknod fails with EPERM), as the runtime issue requires.
 */
function defaultDeviceRules(): LinuxDeviceCgroup[] {
  return [
    { allow: false, access: 'rwm' },
    dev('c', 1, 3, 'rwm'), // /dev/null
    dev('c', 1, 5, 'rwm'), // /dev/zero
    dev('c', 1, 7, 'rwm'), // /dev/full
    dev('c', 1, 8, 'rwm'), // /dev/random
    dev('c', 1, 9, 'rwm'), // /dev/urandom
    dev('c', 5, 0, 'rwm'), // /dev/tty
    dev('c', 5, 1, 'rwm'), // /dev/console
    dev('c', 5, 2, 'rwm'), // /dev/ptmx
    dev('c', 136, null, 'rwm'), // /dev/pts/*
    dev('c', 10, 200, 'rwm'), // /dev/net/tun
  ];
}

export interface DefaultSpecOptions {
  /** The command; default `['sh']`. */
  readonly args?: readonly string[];
  /** Root filesystem, relative to the bundle or absolute; default `rootfs`. */
  readonly rootfs?: string;
  readonly readonlyRootfs?: boolean;
  /** Default `berth`. */
  readonly hostname?: string;
  /** Added after PATH. */
  readonly env?: readonly string[];
  /** Default `/`. */
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  /** Replaces Docker's default capability set (bounding = effective = permitted). */
  readonly capabilities?: readonly string[];
  /** Resources merged over the default device rules. */
  readonly resources?: Omit<LinuxResources, 'devices'>;
  readonly cgroupsPath?: string;
  /** Extra mounts after the defaults. */
  readonly mounts?: readonly Mount[];
  /** Existing namespaces to join, by type (e.g. `{ network: '/proc/123/ns/net' }`). */
  readonly namespacePaths?: Readonly<Partial<Record<LinuxNamespace['type'], string>>>;
  /** false = no seccomp filter at all (for tests that compare). */
  readonly seccomp?: boolean;
  readonly annotations?: Readonly<Record<string, string>>;
}

/**
 * A complete config.json for Docker's default security settings. The seccomp profile is
 * resolved against the capability set, so the same object works for runc and Berth.
 */
export function defaultSpec(opts: DefaultSpecOptions = {}): RuntimeSpec {
  const caps = [...(opts.capabilities ?? DEFAULT_CAPABILITIES)];
  const spec: RuntimeSpec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: false,
      user: { uid: opts.uid ?? 0, gid: opts.gid ?? 0 },
      args: [...(opts.args ?? ['sh'])],
      // runc and Docker give the process a HOME; set it here so every runtime sees the same env.
      env: [...DEFAULT_ENV, `HOME=${(opts.uid ?? 0) === 0 ? '/root' : '/'}`, ...(opts.env ?? [])],
      cwd: opts.cwd ?? '/',
      capabilities: { bounding: caps, effective: [...caps], permitted: [...caps] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: opts.rootfs ?? 'rootfs', readonly: opts.readonlyRootfs ?? false },
    hostname: opts.hostname ?? 'berth',
    mounts: [...defaultMounts(), ...(opts.mounts ?? [])],
    linux: {
      namespaces: DEFAULT_NAMESPACES.map((type) => {
        const path = opts.namespacePaths?.[type];
        return path ? { type, path } : { type };
      }),
      resources: { devices: defaultDeviceRules(), ...opts.resources },
      maskedPaths: [...DEFAULT_MASKED_PATHS],
      readonlyPaths: [...DEFAULT_READONLY_PATHS],
    },
  };
  if (opts.cgroupsPath) spec.linux!.cgroupsPath = opts.cgroupsPath;
  if (opts.seccomp !== false) spec.linux!.seccomp = defaultSeccompProfile(caps);
  if (opts.annotations) spec.annotations = { ...opts.annotations };
  return spec;
}
