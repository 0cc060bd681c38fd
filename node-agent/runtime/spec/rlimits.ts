/** Resource limit names and this host's hard limits (for refusing rlimits the container could not get). */
import * as fs from 'node:fs';

export const RLIMIT_NAMES = [
  'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS', 'RLIMIT_NPROC',
  'RLIMIT_NOFILE', 'RLIMIT_MEMLOCK', 'RLIMIT_AS', 'RLIMIT_LOCKS', 'RLIMIT_SIGPENDING', 'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME',
] as const;

/** Row titles of /proc/self/limits, in RLIMIT_* order (resource.h). */
const LIMITS_ROWS = [
  'Max cpu time', 'Max file size', 'Max data size', 'Max stack size', 'Max core file size', 'Max resident set',
  'Max processes', 'Max open files', 'Max locked memory', 'Max address space', 'Max file locks',
  'Max pending signals', 'Max msgqueue size', 'Max nice priority', 'Max realtime priority', 'Max realtime timeout',
];

let cached: Map<string, number> | undefined;

/** Hard limits of this process (which the container inherits), by RLIMIT_* name; unlimited ones are absent. */
export function hostHardLimits(): ReadonlyMap<string, number> {
  if (cached) return cached;
  const limits = new Map<string, number>();
  for (const line of fs.readFileSync('/proc/self/limits', 'utf8').split('\n')) {
    const row = LIMITS_ROWS.findIndex((title) => line.startsWith(title));
    if (row < 0) continue;
    const fields = line.slice(LIMITS_ROWS[row].length).trim().split(/\s+/);
    const hard = fields[1];
    if (hard !== 'unlimited') limits.set(RLIMIT_NAMES[row], Number(hard));
  }
  cached = limits;
  return limits;
}
