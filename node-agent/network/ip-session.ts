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

interface Batch {
  readonly commands: readonly string[];
  readonly resolve: (outcome: SessionOutcome) => void;
  /** Session line numbers before the batch's first line, and of its end mark. */
  lineOffset: number;
  markLine: number;
}

/**
 * Batches are pipelined: each is written to ip's stdin as soon as it is asked for, without waiting for the ones
 * before it to be answered (a round trip through a busy event loop per batch would make a queue of them). ip runs
 * them in order; stderr is cut at each batch's end mark. A batch that makes ip exit is reported so; the batches
 * written after it never ran and go to a fresh process.
 */
class IpBatchSession {
  private child?: ChildProcessWithoutNullStreams;
  private linesSent = 0;
  private stderr = '';
  /** Written and not yet answered, oldest first. */
  private inFlight: Batch[] = [];
  private idleTimer?: NodeJS.Timeout;
  private stopWhenIdle = false;

  constructor(private readonly netnsArgs: readonly string[]) {}

  /** Batches sent and not yet answered. */
  get pending(): number {
    return this.inFlight.length;
  }

  /** Runs `commands` after every batch sent before them. */
  run(commands: readonly string[]): Promise<SessionOutcome> {
    return new Promise((resolve) => this.send({ commands, resolve, lineOffset: 0, markLine: 0 }));
  }

  /** Ends the process once every batch sent has been answered. */
  stop(): void {
    clearTimeout(this.idleTimer);
    if (this.inFlight.length > 0) {
      this.stopWhenIdle = true;
      return;
    }
    this.child?.stdin.end();
    this.child = undefined;
  }

  private send(batch: Batch): void {
    clearTimeout(this.idleTimer);
    this.stopWhenIdle = false;
    const child = (this.child ??= this.start());
    if (this.inFlight.length === 0) holdEventLoop(child, true);
    batch.lineOffset = this.linesSent;
    batch.markLine = this.linesSent + batch.commands.length + 1;
    this.linesSent = batch.markLine;
    this.inFlight.push(batch);
    child.stdin.write([...batch.commands, `link show dev ${SYNC_DEVICE}`].join('\n') + '\n');
  }

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn('ip', [...this.netnsArgs, '-force', '-batch', '-'], { stdio: 'pipe' });
    child.stdout.resume(); // nothing we send prints, but never let a full pipe stall ip
    child.stderr.on('data', (chunk: Buffer) => {
      if (this.child !== child) return;
      this.stderr += chunk.toString();
      this.answerFinished();
    });
    child.on('close', () => {
      if (this.child === child) this.exited();
    });
    child.on('error', () => undefined); // reported through 'close' and the batch outcome
    child.stdin.on('error', () => undefined);
    this.linesSent = 0;
    this.stderr = '';
    return child;
  }

  /** Answers every batch whose end mark has come, in order. */
  private answerFinished(): void {
    while (this.inFlight.length > 0) {
      const mark = `Command failed -:${this.inFlight[0].markLine}\n`;
      const end = this.stderr.indexOf(mark);
      if (end < 0) return;
      const batch = this.inFlight.shift()!;
      const stderr = this.stderr.slice(0, end + mark.length);
      this.stderr = this.stderr.slice(end + mark.length);
      batch.resolve({ stderr, lineOffset: batch.lineOffset, exited: false });
    }
    if (this.child) holdEventLoop(this.child, false);
    if (this.stopWhenIdle) return this.stop();
    this.idleTimer = setTimeout(() => this.stop(), IDLE_MS).unref();
  }

  /** ip ended: the oldest batch made it exit; the ones after it never ran and are sent again to a new process. */
  private exited(): void {
    this.child = undefined;
    const [failed, ...notRun] = this.inFlight;
    this.inFlight = [];
    failed?.resolve({ stderr: this.stderr, lineOffset: failed.lineOffset, exited: true });
    this.stderr = '';
    for (const batch of notRun) this.send(batch);
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
