/**
 * iproute2 in batch mode: many `ip` commands in one process, without a process start per batch for `ip`.
 * `-force` runs every line even after a failure; the failures are parsed out of stderr per line so the
 * caller can tolerate the expected ones ("File exists" when converging, "Cannot find device" when removing).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCommand } from './command';
import { ipExecLane, ipSession, type SessionOutcome } from './ip-session';

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
   * A second batch run inside another namespace after the first: an `ip` session runs `netns exec NS ip -batch
   * FILE` with the commands in a temporary file (Node's stdio pipes are sockets, which /dev/fd/N cannot reopen).
   */
  readonly nested?: { readonly netns: string; readonly commands: readonly string[] };
}

let nestedFiles = 0;

/** Memory-backed when the host has /dev/shm: a file that lives for one batch need not touch a disk journal. */
const NESTED_BATCH_DIR = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

function nestedBatchFile(): string {
  if (nestedFiles === 0) removeBatchFilesOfEndedProcesses();
  return path.join(NESTED_BATCH_DIR, `berth-ip-batch-${process.pid}-${nestedFiles++}`);
}

/** Batch files left by processes that ended with batches in flight (killed agents, ended test runs). */
export function removeBatchFilesOfEndedProcesses(): void {
  for (const name of fs.readdirSync(NESTED_BATCH_DIR)) {
    const pid = /^berth-ip-batch-(\d+)-\d+$/.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !fs.existsSync(`/proc/${pid}`)) fs.rmSync(path.join(NESTED_BATCH_DIR, name), { force: true });
  }
}

/**
 * Runs `commands` (without the tool name) as one batch: `ip` ones through the long-lived session of their
 * namespace (ip-session.ts), others in a one-off `TOOL -force -batch -`; then the nested batch, if any. Returns
 * the failures of both batches.
 */
export async function runIpBatch(commands: readonly string[], options: IpBatchOptions = {}): Promise<IpCommandFailure[]> {
  const { netns, tool = 'ip', nested } = options;
  const netnsArgs = netns ? ['-n', netnsArgument(netns)] : [];
  const failures: IpCommandFailure[] = [];
  if (commands.length > 0) {
    const outcome =
      tool === 'ip'
        ? await ipSession(netnsArgs).run(commands)
        : await runCommand([tool, ...netnsArgs, '-force', '-batch', '-'], commands.join('\n') + '\n').then((r) => ({
            stderr: r.stderr,
            lineOffset: 0,
            exited: r.code !== 0 && !/Command failed/.test(r.stderr),
          }));
    failures.push(...failuresOf(outcome, { '-': commands }, `${tool} ${netnsArgs.join(' ')} -batch`));
  }
  if (nested) failures.push(...(await runNested(netnsArgs, nested)));
  return failures;
}

/**
 * The nested batch: `netns exec NS ip -force -batch FILE` sent to one of the parallel exec lanes (ip-session.ts),
 * so that the exec — a process start, the slow part of an attach — holds up neither the namespace's main session
 * nor other containers' attaches. Its failures are reported by their own lines; the exec line itself only when
 * it failed on its own (the namespace cannot be entered).
 */
async function runNested(netnsArgs: readonly string[], nested: NonNullable<IpBatchOptions['nested']>): Promise<IpCommandFailure[]> {
  const file = nestedBatchFile();
  const exec = `netns exec ${netnsArgument(nested.netns)} ip -force -batch ${file}`;
  let outcome: SessionOutcome;
  try {
    await fs.promises.writeFile(file, nested.commands.join('\n') + '\n');
    outcome = await ipExecLane(netnsArgs).run([exec]);
  } finally {
    await fs.promises.rm(file, { force: true });
  }
  const failures = failuresOf(outcome, { [file]: nested.commands, '-': [exec] }, `ip ${netnsArgs.join(' ')} -batch`);
  const nestedFailed = failures.some((f) => f.nested);
  // The exec line fails whenever a nested command did; the nested failure is the one to report.
  return failures.filter((f) => f.nested || !nestedFailed);
}

/**
 * Failures from one batch's stderr: each `Command failed SOURCE:N` line, with the message lines printed before
 * it, is a failure of line N of `sources[SOURCE]` (`-` is stdin, a file name is a nested batch).
 */
function failuresOf(outcome: SessionOutcome, sources: Record<string, readonly string[]>, what: string): IpCommandFailure[] {
  const failures: IpCommandFailure[] = [];
  let pending: string[] = [];
  for (const text of outcome.stderr.split('\n')) {
    const failed = /^Command failed (\S+):(\d+)$/.exec(text.trim());
    if (failed) {
      const isNested = failed[1] !== '-';
      const line = Number(failed[2]) - (isNested ? 0 : outcome.lineOffset);
      const source = sources[failed[1]] ?? [];
      // Lines past the batch are the session's end mark.
      if (line <= source.length) failures.push({ line, command: source[line - 1] ?? '', message: pending.join(' ').trim(), nested: isNested });
      pending = [];
    } else if (text.trim()) {
      pending.push(text.trim());
    }
  }
  if (outcome.exited) {
    // ip stopped before the end of the batch (it cannot open the namespace, or an argument it exits on).
    failures.push({ line: 0, command: what, message: pending.join(' ').trim() || 'ip exited', nested: false });
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
