/**
 * After the whole run: the `berth` parent cgroups the tests' containers needed are removed, and a cgroup still below
 * one fails the run (each test asserts its own cleanup; this catches what falls between them).
 */
import { CGROUP_ROOT, removeEmptyBerthParents } from '../../node-agent/runtime/cgroups';

export default function globalTeardown(): void {
  const held = removeEmptyBerthParents(CGROUP_ROOT);
  if (held.length > 0) throw new Error(`cgroups left below the berth parents after the tests: ${held.join(', ')}`);
}
