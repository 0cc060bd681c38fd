/** `berth exec [-i] [-t] NAME -- CMD [ARGS...]`: run a command in a running container, streamed through the API server. */
import { PassThrough, Writable } from 'node:stream';
import type { Command } from 'commander';
import { ApiClient, encodeFrame, encodeResize, ExecChannel, EXEC_CONTENT_TYPE, FrameDecoder, RESOURCES, type ExecFrame, type TerminalSize } from '../../client';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';

export interface ExecResult {
  readonly exitCode: number;
}

/** The caller's terminal, for a session with a pseudo-terminal in the container. */
export interface ExecTerminal {
  size(): TerminalSize;
  /** Calls `listener` whenever the size changes; returns the unsubscribe function. */
  onResize(listener: () => void): () => void;
}

/**
 * Runs `command` in container `name`: stdin (if given) goes up as frames, stdout/stderr come back as frames,
 * and the last frame carries the exit code. With `tty`, the process gets a pseudo-terminal of the terminal's size
 * (the session's first frame), and each later size change is sent on. Resolves with the exit code; rejects if
 * the agent could not start the process.
 */
export async function execInContainer(
  client: ApiClient,
  namespace: string,
  name: string,
  command: readonly string[],
  io: { stdin?: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream; tty?: ExecTerminal },
): Promise<ExecResult> {
  const query = new URLSearchParams(command.map((c) => ['command', c]));
  if (io.stdin) query.set('stdin', 'true');
  if (io.tty) query.set('tty', 'true');
  const path = `${client.path(RESOURCES.containers, namespace, name, 'exec')}?${query}`;
  const up = new PassThrough();
  const tty = io.tty;
  if (tty) up.write(encodeResize(tty.size()));
  const unsubscribe = tty?.onResize(() => up.write(encodeResize(tty.size())));
  if (io.stdin) {
    io.stdin.on('data', (d: Buffer) => up.write(encodeFrame(ExecChannel.Stdin, d)));
    io.stdin.on('end', () => up.end(encodeFrame(ExecChannel.CloseStdin)));
  } else if (!tty) {
    up.end();
  }
  let status: { exitCode?: number; error?: string } | undefined;
  const frames = new FrameDecoder();
  frames.on('data', (f: ExecFrame) => {
    if (f.channel === ExecChannel.Stdout) io.stdout.write(f.payload);
    else if (f.channel === ExecChannel.Stderr) io.stderr.write(f.payload);
    else if (f.channel === ExecChannel.Status) status = JSON.parse(f.payload.toString('utf8')) as typeof status;
  });
  try {
    await client.stream('POST', path, { body: up, contentType: EXEC_CONTENT_TYPE }, frames as unknown as Writable);
  } finally {
    unsubscribe?.();
    up.end();
  }
  await new Promise((r) => setImmediate(r));
  if (!status) throw new Error(`exec in ${namespace}/${name}: the session ended without an exit status`);
  if (status.error) throw new Error(`exec in ${namespace}/${name}: ${status.error}`);
  return { exitCode: status.exitCode ?? 1 };
}

/** process.stdout as the session's terminal (its 'resize' event follows SIGWINCH). */
const processTerminal: ExecTerminal = {
  size: () => ({ width: process.stdout.columns ?? 80, height: process.stdout.rows ?? 24 }),
  onResize(listener) {
    process.stdout.on('resize', listener);
    return () => process.stdout.off('resize', listener);
  },
};

/** Raw mode for the session, so that keys (^C, ^D, arrows) reach the container's terminal as they are typed. */
async function withRawStdin<T>(run: () => Promise<T>): Promise<T> {
  process.stdin.setRawMode(true);
  try {
    return await run();
  } finally {
    process.stdin.setRawMode(false);
    // Our stdin (a terminal) never ends by itself: let the CLI exit.
    process.stdin.destroy();
  }
}

export const registerExecCommand = (program: Command): void => {
  program
    .command('exec')
    .description('run a command in a running container (exit code propagated)')
    .argument('<name>', 'container name')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('-i, --stdin', 'pass standard input to the command')
    .option('-t, --tty', 'give the command a terminal (with -i: raw mode, window size followed)')
    .action(async (name: string, command: string[], opts: { stdin?: boolean; tty?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      // kubectl's rule: a terminal in the container only when ours is one.
      const tty = !!opts.tty && process.stdout.isTTY && (!opts.stdin || process.stdin.isTTY);
      if (opts.tty && !tty) process.stderr.write('Unable to use a TTY - input is not a terminal or the right kind of file\n');
      const raw = tty && !!opts.stdin;
      const client = clientFor(globals);
      try {
        const run = () =>
          execInContainer(client, namespaceOf(client, globals), name, command, {
            stdin: opts.stdin ? process.stdin : undefined,
            stdout: process.stdout,
            stderr: process.stderr,
            tty: tty ? processTerminal : undefined,
          });
        const { exitCode } = raw ? await withRawStdin(run) : await run();
        process.exitCode = exitCode;
      } finally {
        client.close();
      }
    });
};
