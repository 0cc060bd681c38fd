import type * as http from 'node:http';
import { encodeFrame, ExecChannel, EXEC_CONTENT_TYPE, FrameDecoder, parseResize, type ExecFrame, type TerminalSize } from '../../client/exec-stream';
import type { ContainerRuntime, ExecHandle } from '../runtime/types';

export interface ExecOptions {
  /** The request body carries stdin frames for the process. */
  readonly stdin: boolean;
  /** The process gets a pseudo-terminal (stdout and stderr are both its output; Resize frames set its size). */
  readonly tty: boolean;
}

/** How long a tty session waits for the client's first frame (its terminal size) before starting without one. */
const TTY_SIZE_WAIT_MS = 2000;

/**
 * A tty session starts with the client's terminal size (the protocol's first frame), so the pty is created with
 * it and even the first output is laid out for the real window. Frames that arrive meanwhile stay in `early`.
 */
function initialSize(frames: FrameDecoder, early: readonly ExecFrame[]): Promise<TerminalSize | undefined> {
  return new Promise((resolve) => {
    const done = (size: TerminalSize | undefined) => {
      clearTimeout(timer);
      frames.off('data', look);
      frames.off('end', none);
      resolve(size);
    };
    const look = () => {
      const frame = early.find((f) => f.channel === ExecChannel.Resize);
      if (frame) done(parseResize(frame.payload));
    };
    const none = () => done(undefined);
    const timer = setTimeout(none, TTY_SIZE_WAIT_MS);
    frames.on('data', look);
    frames.once('end', none);
    look();
  });
}

/** Stdin, close-stdin and resize frames from the client, applied to the running process. */
function applyFrame(handle: ExecHandle, frame: ExecFrame): void {
  if (frame.channel === ExecChannel.Stdin) handle.stdin?.write(frame.payload);
  else if (frame.channel === ExecChannel.CloseStdin) handle.stdin?.end();
  else if (frame.channel === ExecChannel.Resize) {
    const size = parseResize(frame.payload);
    if (size) handle.resize?.(size);
  }
}

/**
 * One exec session: the request body carries stdin (and, with a tty, resize) frames, the response carries
 * stdout/stderr frames and a final status frame with the exit code. The process runs through the runtime's exec
 * (the container's namespaces, cgroup, capabilities, seccomp and user).
 */
export async function serveExec(runtime: ContainerRuntime, containerId: string, command: string[], opts: ExecOptions, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { 'Content-Type': EXEC_CONTENT_TYPE });
  res.flushHeaders();
  const send = (channel: ExecChannel, payload: Buffer | string) => res.write(encodeFrame(channel, payload));
  const frames = req.pipe(new FrameDecoder());
  const early: ExecFrame[] = [];
  let onFrame: (frame: ExecFrame) => void = (frame) => early.push(frame);
  let onBodyEnd: () => void = () => undefined;
  let bodyEnded = false;
  frames.on('data', (frame: ExecFrame) => onFrame(frame));
  frames.once('end', () => {
    bodyEnded = true;
    onBodyEnd();
  });
  const size = opts.tty ? await initialSize(frames, early) : undefined;

  let handle: ExecHandle;
  try {
    handle = await runtime.exec(
      containerId,
      { args: command, ...(opts.tty ? { terminal: true, ...(size ? { consoleSize: size } : {}) } : {}) },
      { stdin: opts.stdin ? 'pipe' : 'null', stdout: 'pipe', stderr: opts.tty ? 'null' : 'pipe' },
    );
  } catch (err) {
    send(ExecChannel.Status, JSON.stringify({ error: (err as Error).message }));
    return void res.end();
  }
  // Listen for the ends now: they may come before the exit is known.
  const ended = (s?: NodeJS.ReadableStream) => (s ? new Promise((r) => s.once('end', r)) : Promise.resolve());
  const outputDone = Promise.all([ended(handle.stdout), ended(handle.stderr)]);
  handle.stdout?.on('data', (d: Buffer) => send(ExecChannel.Stdout, d));
  handle.stderr?.on('data', (d: Buffer) => send(ExecChannel.Stderr, d));
  handle.stdin?.on('error', () => undefined); // the process may exit before reading everything
  onFrame = (frame) => applyFrame(handle, frame);
  early.forEach(onFrame);
  onBodyEnd = () => handle.stdin?.end();
  if (bodyEnded) onBodyEnd();
  // The response closing before it was finished means the client went away (the request's own 'close' only says
  // that its body ended): the exec'd process should not outlive its session.
  res.once('close', () => {
    if (res.writableFinished) return;
    try {
      process.kill(handle.pid, 'SIGKILL');
    } catch {
      // already exited
    }
  });
  const exit = await handle.wait();
  await outputDone;
  send(ExecChannel.Status, JSON.stringify(exit));
  res.end();
}
