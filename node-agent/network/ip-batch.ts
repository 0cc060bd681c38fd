/**
 * iproute2 in batch mode: many `ip` commands in one process (one spawn per batch keeps attach fast).
 * `-force` runs every line even after a failure; the failures are parsed out of stderr per line so the
 * caller can tolerate the expected ones ("File exists" when converging, "Cannot find device" when removing).
 */
import * as path from 'node:path';
import { runCommand } from './command';

export interface IpCommandFailure {
  /** 1-based line of the batch. */
  readonly line: number;
  readonly command: string;
  readonly message: string;
}

export class IpBatchError extends Error {
  constructor(
    readonly failures: readonly IpCommandFailure[],
    context: string,
  ) {
    super(`${context}: ${failures.map((f) => `\`${f.command}\`: ${f.message}`).join('; ')}`);
    this.name = 'IpBatchError';
  }
}

/** Where named network namespaces live (`ip netns add`). */
export const NETNS_RUN_DIR = '/run/netns';

/**
 * The argument `ip -n` accepts for a namespace name or path. iproute2 joins it to /run/netns, so a path elsewhere
 * (e.g. /proc/PID/ns/net) is given relative to that directory.
 */
export function netnsArgument(netnsPath: string): string {
  if (!netnsPath.includes('/')) return netnsPath; // already a name
  return path.dirname(netnsPath) === NETNS_RUN_DIR ? path.basename(netnsPath) : path.relative(NETNS_RUN_DIR, netnsPath);
}

/** The iproute2 tools with a batch mode: `ip`, and `bridge` for FDB entries. */
export type IprouteTool = 'ip' | 'bridge';

/** Runs `commands` (without the tool name) in one `TOOL -force -batch -`, in `netns` when given. Returns the failures. */
export async function runIpBatch(commands: readonly string[], netns?: string, tool: IprouteTool = 'ip'): Promise<IpCommandFailure[]> {
  const argv = [tool, ...(netns ? ['-n', netnsArgument(netns)] : []), '-force', '-batch', '-'];
  const result = await runCommand(argv, commands.join('\n') + '\n');
  if (result.code === 0) return [];
  const failures: IpCommandFailure[] = [];
  let pending: string[] = [];
  for (const text of result.stderr.split('\n')) {
    const failed = /^Command failed -:(\d+)$/.exec(text.trim());
    if (failed) {
      const line = Number(failed[1]);
      failures.push({ line, command: commands[line - 1] ?? '', message: pending.join(' ').trim() });
      pending = [];
    } else if (text.trim()) {
      pending.push(text.trim());
    }
  }
  if (failures.length === 0) {
    // ip failed before running the batch (e.g. the namespace cannot be opened).
    failures.push({ line: 0, command: argv.join(' '), message: result.stderr.trim() });
  }
  return failures;
}

/** Runs the batch and throws `IpBatchError` (with `context`) for any failure whose message `tolerated` does not match. */
export async function runIpBatchChecked(
  commands: readonly string[],
  context: string,
  options: { readonly netns?: string; readonly tolerated?: RegExp; readonly tool?: IprouteTool } = {},
): Promise<void> {
  const failures = await runIpBatch(commands, options.netns, options.tool);
  const fatal = failures.filter((f) => !(options.tolerated && f.line > 0 && options.tolerated.test(f.message)));
  if (fatal.length > 0) throw new IpBatchError(fatal, context);
}

/** Messages iproute2 prints when an object to create already exists / an object to remove is already gone. */
export const ALREADY_EXISTS = /File exists|already exists|already assigned|already a member/i;
export const ALREADY_GONE = /Cannot find device|No such (device|file|process)|does not exist|Cannot find/i;
