/** Facts about host processes from /proc, for telling a live container init from a recycled pid. */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined if there is no such process. */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, only waiting to be reaped
  return fields[19];
}

/** True if `pid` is still the process that had `startTime` (pids are recycled). */
export function isSameProcess(pid: number, startTime: string): boolean {
  return pid > 0 && processStartTime(pid) === startTime;
}

/** 'SIGTERM', 'TERM', '15' or 15 → the signal number; throws for an unknown name. */
export function signalNumber(signal: string | number): number {
  if (typeof signal === 'number') return signal;
  if (/^\d+$/.test(signal)) return Number(signal);
  const name = (signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`) as NodeJS.Signals;
  const n = os.constants.signals[name];
  if (n === undefined) throw new Error(`unknown signal ${signal}`);
  return n;
}

/** 9 → 'SIGKILL' (undefined for numbers Node has no name for). */
export function signalName(n: number): string | undefined {
  return Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0];
}
