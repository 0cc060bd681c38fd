/** OCI/fstab mount option strings → mount(2) flags, propagation and filesystem data (runc's table). */

/** <sys/mount.h> MS_* values. */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;

/** Options that set (clear: false) or clear (clear: true) a flag. */
const FLAG_OPTIONS: Readonly<Record<string, { flag: number; clear: boolean }>> = {
  ro: { flag: MS.RDONLY, clear: false },
  rw: { flag: MS.RDONLY, clear: true },
  nosuid: { flag: MS.NOSUID, clear: false },
  suid: { flag: MS.NOSUID, clear: true },
  nodev: { flag: MS.NODEV, clear: false },
  dev: { flag: MS.NODEV, clear: true },
  noexec: { flag: MS.NOEXEC, clear: false },
  exec: { flag: MS.NOEXEC, clear: true },
  sync: { flag: MS.SYNCHRONOUS, clear: false },
  async: { flag: MS.SYNCHRONOUS, clear: true },
  dirsync: { flag: MS.DIRSYNC, clear: false },
  remount: { flag: MS.REMOUNT, clear: false },
  mand: { flag: MS.MANDLOCK, clear: false },
  nomand: { flag: MS.MANDLOCK, clear: true },
  atime: { flag: MS.NOATIME, clear: true },
  noatime: { flag: MS.NOATIME, clear: false },
  diratime: { flag: MS.NODIRATIME, clear: true },
  nodiratime: { flag: MS.NODIRATIME, clear: false },
  bind: { flag: MS.BIND, clear: false },
  rbind: { flag: MS.BIND | MS.REC, clear: false },
  relatime: { flag: MS.RELATIME, clear: false },
  norelatime: { flag: MS.RELATIME, clear: true },
  strictatime: { flag: MS.STRICTATIME, clear: false },
  nostrictatime: { flag: MS.STRICTATIME, clear: true },
  silent: { flag: MS.SILENT, clear: false },
  loud: { flag: MS.SILENT, clear: true },
  defaults: { flag: 0, clear: false },
};

export const PROPAGATION: Readonly<Record<string, number>> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

export interface MountOptions {
  readonly flags: number;
  readonly propagation: number;
  /** Filesystem-specific options (`mode=755,size=65536k`), passed as mount(2)'s data. */
  readonly data: string;
  readonly isBind: boolean;
}

/** Parses a mount's `type` and `options`; unknown options become filesystem data, as mount(8) does. */
export function parseMountOptions(type: string | undefined, options: readonly string[] = []): MountOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const opt of options) {
    const f = FLAG_OPTIONS[opt];
    if (f) flags = f.clear ? flags & ~f.flag : flags | f.flag;
    else if (opt in PROPAGATION) propagation |= PROPAGATION[opt];
    else data.push(opt);
  }
  if (type === 'bind') flags |= MS.BIND;
  return { flags, propagation, data: data.join(','), isBind: (flags & MS.BIND) !== 0 };
}
