/**
 * iproute2 in batch mode: many `ip` commands in one process, without a process start per batch for `ip`.
 * `-force` runs every line even after a failure; the failures are parsed out of stderr per line so the
 * caller can tolerate the expected ones ("File exists" when converging, "Cannot find device" when removing).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCommand } from './command';
import { ipSession, type SessionOutcome } from './ip-session';

export interface IpCommandFailure {
  /** 1-based line of the batch. */
  readonly line: number;
  readonly command: string;
  readonly message: string;
  /** From the nested batch (see `IpBatchOptions.nested`). */
  readonly nested: boolean;
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

export interface IpBatchOptions {
  /** Namespace the batch runs in; the caller's own when undefined. */
  readonly netns?: string;
  readonly tool?: IprouteTool;
  /**
   * A second batch run inside another namespace after the first, as part of the same batch: the outer `ip` runs
   * `netns exec NS ip -batch FILE` with the commands in a temporary file (Node's stdio pipes are sockets,
   * which /dev/fd/N cannot reopen).
   */
  readonly nested?: { readonly netns: string; readonly commands: readonly string[] };
}

let nestedFiles = 0;

function nestedBatchFile(): string {
  return path.join(os.tmpdir(), `berth-ip-batch-${process.pid}-${nestedFiles++}`);
}

/**
 * Runs `commands` (without the tool name) as one batch: `ip` ones through the long-lived session of their
 * namespace (ip-session.ts), others in a one-off `TOOL -force -batch -`. Returns the failures of both batches.
 */
export async function runIpBatch(commands: readonly string[], options: IpBatchOptions = {}): Promise<IpCommandFailure[]> {
  const { netns, tool = 'ip', nested } = options;
  const nestedFile = nested ? nestedBatchFile() : undefined;
  const outer = nested ? [...commands, `netns exec ${netnsArgument(nested.netns)} ip -force -batch ${nestedFile}`] : commands;
  const netnsArgs = netns ? ['-n', netnsArgument(netns)] : [];
  let outcome: SessionOutcome;
  try {
    if (nested && nestedFile) fs.writeFileSync(nestedFile, nested.commands.join('\n') + '\n');
    if (tool === 'ip') {
      outcome = await ipSession(netnsArgs).run(outer);
    } else {
      const result = await runCommand([tool, ...netnsArgs, '-force', '-batch', '-'], outer.join('\n') + '\n');
      outcome = { stderr: result.stderr, lineOffset: 0, exited: result.code !== 0 && !/Command failed/.test(result.stderr) };
    }
  } finally {
    if (nestedFile) fs.rmSync(nestedFile, { force: true });
  }
  const failures: IpCommandFailure[] = [];
  let pending: string[] = [];
  for (const text of outcome.stderr.split('\n')) {
    const failed = /^Command failed (\S+):(\d+)$/.exec(text.trim());
    if (failed) {
      const isNested = failed[1] === nestedFile;
      const line = Number(failed[2]) - (isNested ? 0 : outcome.lineOffset);
      const source = isNested ? (nested?.commands ?? []) : outer;
      // The `netns exec` line fails whenever a nested command did; the nested failure is the one to report.
      const isExecOfFailedNested = !isNested && nested !== undefined && line === outer.length && failures.some((f) => f.nested);
      // Lines past the batch are the session's end mark.
      if (!isExecOfFailedNested && line <= source.length) {
        failures.push({ line, command: source[line - 1] ?? '', message: pending.join(' ').trim(), nested: isNested });
      }
      pending = [];
    } else if (text.trim()) {
      pending.push(text.trim());
    }
  }
  if (outcome.exited) {
    // ip stopped before the end of the batch (it cannot open the namespace, or an argument it exits on).
    failures.push({ line: 0, command: `${tool} ${netnsArgs.join(' ')} -batch`, message: pending.join(' ').trim() || 'ip exited', nested: false });
  }
  return failures;
}

/** Runs the batch and throws `IpBatchError` (with `context`) for any failure whose message `tolerated` does not match. */
export async function runIpBatchChecked(
  commands: readonly string[],
  context: string,
  options: IpBatchOptions & { readonly tolerated?: RegExp } = {},
): Promise<void> {
  throwUnlessTolerated(await runIpBatch(commands, options), context, options.tolerated);
}

export function throwUnlessTolerated(failures: readonly IpCommandFailure[], context: string, tolerated?: RegExp): void {
  const fatal = failures.filter((f) => !(tolerated && f.line > 0 && tolerated.test(f.message)));
  if (fatal.length > 0) throw new IpBatchError(fatal, context);
}

/** Messages iproute2 prints when an object to create already exists / an object to remove is already gone. */
export const ALREADY_EXISTS = /File exists|already exists|already assigned|already a member/i;
export const ALREADY_GONE = /Cannot find device|No such (device|file|process)|does not exist|Cannot find/i;
