/**
 * Container cgroups, v1 and v2, always below the `berth` parent:
 * `/sys/fs/cgroup/<controller>/berth/<id>` on v1, `/sys/fs/cgroup/berth/<id>` on v2.
 */
import * as fs from 'node:fs';
import { cgroupRelativePath } from './path';
import { CgroupV1Manager } from './v1';
import { CgroupV2Manager } from './v2';
import type { CgroupManager } from './types';

export { CgroupError, type CgroupManager, type CgroupStats } from './types';
export { BERTH_CGROUP_PARENT, cgroupRelativePath } from './path';
export { removeEmptyBerthParents } from './parents';
export { CgroupV1Manager, v1Hierarchies } from './v1';
export { CgroupV2Manager, sharesToWeight } from './v2';
export { compileDeviceFilter } from './device-filter';

export const CGROUP_ROOT = '/sys/fs/cgroup';

let detected: 1 | 2 | undefined;

/** 2 when /sys/fs/cgroup is the unified hierarchy, 1 for legacy and hybrid (v1 controllers, v2 beside them). */
export function cgroupVersion(): 1 | 2 {
  detected ??= fs.existsSync(`${CGROUP_ROOT}/cgroup.controllers`) ? 2 : 1;
  return detected;
}

/**
 * The manager for container `id`'s cgroup on this host. `cgroupsPath` (the bundle's
 * `linux.cgroupsPath`) is honoured only below the `berth` parent (see `cgroupRelativePath`).
 * Nothing is created until `create()`.
 */
export function createCgroupManager(id: string, cgroupsPath?: string): CgroupManager {
  const rel = cgroupRelativePath(id, cgroupsPath);
  return cgroupVersion() === 2 ? new CgroupV2Manager(rel, CGROUP_ROOT) : new CgroupV1Manager(rel, CGROUP_ROOT);
}
