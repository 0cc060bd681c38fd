/**
 * The `berth` parent cgroups themselves: created on demand by the first container (Berth's or runc's, which also
 * makes one in the named `systemd` and the `unified` hierarchies of a hybrid host), removed once nothing is below them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BERTH_CGROUP_PARENT } from './path';

/** Every `berth` parent on the host: `<root>/berth` (v2) and `<root>/<hierarchy>/berth` (v1 and hybrid). */
function berthParents(root: string): string[] {
  const candidates = [path.join(root, BERTH_CGROUP_PARENT)];
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (entry.isDirectory()) candidates.push(path.join(root, entry.name, BERTH_CGROUP_PARENT));
  }
  return candidates.filter((dir) => fs.existsSync(dir));
}

/**
 * Removes each `berth` parent that holds no cgroup (rmdir refuses one that does), and returns the cgroups still
 * below the ones that remain: what some container, or a leak, still holds.
 */
export function removeEmptyBerthParents(root: string): string[] {
  const held: string[] = [];
  for (const dir of berthParents(root)) {
    const children = fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
    if (children.length > 0) held.push(...children.map((e) => path.join(dir, e.name)));
    else fs.rmdirSync(dir);
  }
  return held;
}
