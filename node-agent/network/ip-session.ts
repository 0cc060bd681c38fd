/**
 * A long-lived `ip -force -batch -` per namespace context, fed through stdin, so a batch costs no process
 * start of its own (spawning from Node is most of an attach's time on a busy node). After each batch a
 * command that is bound to fail (showing a device that does not exist) marks the end: its
 * `Command failed -:N` line on stderr says every earlier line has run. An idle session ends itself. Batches
 * that start a process (a nested batch in a container's namespace) go to parallel exec lanes instead.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as os from 'node:os';

/** Never created by anyone: showing it fails, and that failure is the end-of-batch mark. */
const SYNC_DEVICE = 'berth-sync-mark';
const IDLE_MS = 2000;

export interface SessionOutcome {
  /** Everything ip printed to stderr for this batch, the end mark included. */
  readonly stderr: string;
  /** Line numbers on stderr count from the session's start; subtract this to get the batch's own. */
  readonly lineOffset: number;
  /** ip exited during the batch (some errors end it even with -force): later lines did not run. */
  readonly exited: boolean;
}

class IpBatchSession {
  private child?: ChildProcessWithoutNullStreams;
  private linesSent = 0;
  private stderr = '';
  private wake?: () => void;
  private tail: Promise<unknown> = Promise.resolve();
  private idleTimer?: NodeJS.Timeout;

  /** Batches sent and not yet answered. */
  private queued = 0;

  constructor(private readonly netnsArgs: readonly string[]) {}

  get pending(): number {
    return this.queued;
  }

  /** Runs `commands` after every batch queued before them. */
  run(commands: readonly string[]): Promise<SessionOutcome> {
    this.queued++;
    const outcome = this.tail.then(() => this.exchange(commands)).finally(() => this.queued--);
    this.tail = outcome.catch(() => undefined);
    return outcome;
  }

  stop(): void {
    clearTimeout(this.idleTimer);
    this.child?.stdin.end();
    this.child = undefined;
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn('ip', [...this.netnsArgs, '-force', '-batch', '-'], { stdio: 'pipe' });
    child.stdout.resume(); // nothing we send prints, but never let a full pipe stall ip
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
      this.wake?.();
    });
    child.on('close', () => {
      if (this.child === child) this.child = undefined;
      this.wake?.();
    });
    child.on('error', () => undefined); // reported through 'close' and the batch outcome
    child.stdin.on('error', () => undefined);
    this.linesSent = 0;
    return child;
  }

  private exchange(commands: readonly string[]): Promise<SessionOutcome> {
    clearTimeout(this.idleTimer);
    const child = (this.child ??= this.start());
    holdEventLoop(child, true);
    this.stderr = '';
    const lineOffset = this.linesSent;
    const markLine = `Command failed -:${lineOffset + commands.length + 1}`;
    this.linesSent += commands.length + 1;
    return new Promise((resolve) => {
      this.wake = () => {
        const done = this.stderr.includes(markLine);
        const exited = this.child !== child;
        if (!done && !exited) return;
        this.wake = undefined;
        if (!exited) {
          holdEventLoop(child, false);
          this.idleTimer = setTimeout(() => this.stop(), IDLE_MS).unref();
        }
        resolve({ stderr: this.stderr, lineOffset, exited });
      };
      child.stdin.write([...commands, `link show dev ${SYNC_DEVICE}`].join('\n') + '\n');
    });
  }
}

/** Keeps the process alive for a batch in flight; an idle session must not (the agent or a test may exit). */
function holdEventLoop(child: ChildProcessWithoutNullStreams, hold: boolean): void {
  // With stdio 'pipe' the streams are net.Sockets, which have ref/unref.
  const handles = [child, child.stdin, child.stdout, child.stderr] as unknown as { ref(): void; unref(): void }[];
  for (const handle of handles) {
    if (hold) handle.ref();
    else handle.unref();
  }
}

const sessions = new Map<string, IpBatchSession>();

/** The session for `ip [-n NETNS]`: one per namespace argument (and exec lane), started on first use. */
export function ipSession(netnsArgs: readonly string[], lane = 0): IpBatchSession {
  const key = `${lane} ${netnsArgs.join(' ')}`;
  let session = sessions.get(key);
  if (!session) {
    session = new IpBatchSession(netnsArgs);
    sessions.set(key, session);
  }
  return session;
}

/**
 * Sessions that run batches which start a process (`netns exec`), in parallel: a batch that waits for a process
 * would hold up every batch behind it in one session. Two per CPU keeps the CPUs busy while processes start.
 */
const EXEC_LANES = Math.max(2, 2 * os.availableParallelism());

/** The least busy exec lane for `ip [-n NETNS]` (its batches must not depend on each other's order). */
export function ipExecLane(netnsArgs: readonly string[]): IpBatchSession {
  let best: IpBatchSession | undefined;
  for (let lane = 0; lane < EXEC_LANES; lane++) {
    const session = ipSession(netnsArgs, lane + 1);
    if (!best || session.pending < best.pending) best = session;
    if (best.pending === 0) break;
  }
  return best!;
}

/** Ends every session (agent shutdown; they also end by themselves when idle). */
export function stopIpSessions(): void {
  for (const session of sessions.values()) session.stop();
  sessions.clear();
}
