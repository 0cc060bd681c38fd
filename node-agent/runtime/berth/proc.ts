/** Facts about host processes from /proc, for telling a live container init from a recycled pid. */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Fields 3 onwards of /proc/<pid>/stat (state, ppid, ...), or undefined if there is no such process. */
function statFields(pid: number): string[] | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or undefined if there is no such process. */
export function processStartTime(pid: number): string | undefined {
  const fields = statFields(pid);
  if (!fields || fields[0] === 'Z' || fields[0] === 'X') return undefined; // exited, only waiting to be reaped
  return fields[19];
}

/** True if `pid` is still the process that had `startTime` (pids are recycled). */
export function isSameProcess(pid: number, startTime: string): boolean {
  return pid > 0 && processStartTime(pid) === startTime;
}

/** A live process, named by pid and start time so that a recycled pid is never taken for it. */
export interface ProcessRef {
  readonly pid: number;
  readonly startTime: string;
}

function refOf(pid: number): ProcessRef | undefined {
  const startTime = processStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/**
 * The shims working in state directory `dir`: every `berth-shim create|exec CONFIG` with CONFIG inside it. Found
 * from /proc, because a shim whose creator was killed mid-create is recorded nowhere else.
 */
export function shimsIn(dir: string): ProcessRef[] {
  const found: ProcessRef[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // exited meanwhile
    }
    if (argv[0]?.endsWith('/berth-shim') && (argv[1] === 'create' || argv[1] === 'exec') && argv[2]?.startsWith(`${dir}/`)) {
      const ref = refOf(Number(entry));
      if (ref) found.push(ref);
    }
  }
  return found;
}

/** The parent of `pid` (for a container init: its shim), or undefined if either is gone. */
export function parentOf(pid: number): ProcessRef | undefined {
  const ppid = statFields(pid)?.[1];
  return ppid === undefined ? undefined : refOf(Number(ppid));
}

/** The children of `pid`'s main thread (a single-threaded shim: its container init). */
export function childrenOf(pid: number): ProcessRef[] {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return [];
  }
  return text.split(' ').filter((p) => p.trim() !== '').map((p) => refOf(Number(p))).filter((r): r is ProcessRef => r !== undefined);
}

/** SIGKILL to `ref` if it is still that process; false if it was already gone. */
export function killProcess(ref: ProcessRef): boolean {
  if (!isSameProcess(ref.pid, ref.startTime)) return false;
  try {
    process.kill(ref.pid, 'SIGKILL');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw new Error(`kill(${ref.pid}, SIGKILL): ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
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
