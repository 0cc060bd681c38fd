import * as path from 'node:path';
import { CgroupError } from './types';

/** Every cgroup Berth creates lives below this directory of each hierarchy. */
export const BERTH_CGROUP_PARENT = 'berth';

/**
 * The cgroup path (relative to a hierarchy's root) for container `id`: the bundle's
 * `linux.cgroupsPath` nested under `berth/` (kept as is when it already starts there), or
 * `berth/<id>` when the bundle names none or uses systemd's `slice:prefix:name` form.
 */
export function cgroupRelativePath(id: string, cgroupsPath?: string): string {
  if (!id || id.includes('/') || id === '.' || id === '..') throw new CgroupError(`invalid container id ${JSON.stringify(id)} for a cgroup name`);
  const wanted = cgroupsPath && !cgroupsPath.includes(':') ? cgroupsPath : id;
  const parts = wanted.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new CgroupError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)} must not contain ".."`);
  if (parts[0] === BERTH_CGROUP_PARENT) parts.shift();
  if (parts.length === 0) throw new CgroupError(`linux.cgroupsPath ${JSON.stringify(cgroupsPath)} names no cgroup below ${BERTH_CGROUP_PARENT}/`);
  return path.posix.join(BERTH_CGROUP_PARENT, ...parts);
}
