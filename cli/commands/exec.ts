/** `berth exec [-i] NAME -- CMD [ARGS...]`: run a command in a running container, streamed through the API server. */
import { PassThrough, Writable } from 'node:stream';
import type { Command } from 'commander';
import { ApiClient, encodeFrame, ExecChannel, EXEC_CONTENT_TYPE, FrameDecoder, RESOURCES, type ExecFrame } from '../../client';
import { clientFor, namespaceOf, type GlobalOptions } from '../context';

export interface ExecResult {
  readonly exitCode: number;
}

/**
 * Runs `command` in container `name`: stdin (if given) goes up as frames, stdout/stderr come back as frames,
 * and the last frame carries the exit code. Resolves with it; rejects if the agent could not start the process.
 */
export async function execInContainer(
  client: ApiClient,
  namespace: string,
  name: string,
  command: readonly string[],
  io: { stdin?: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
): Promise<ExecResult> {
  const query = new URLSearchParams(command.map((c) => ['command', c]));
  if (io.stdin) query.set('stdin', 'true');
  const path = `${client.path(RESOURCES.containers, namespace, name, 'exec')}?${query}`;
  const up = new PassThrough();
  if (io.stdin) {
    io.stdin.on('data', (d: Buffer) => up.write(encodeFrame(ExecChannel.Stdin, d)));
    io.stdin.on('end', () => up.end(encodeFrame(ExecChannel.CloseStdin)));
  } else {
    up.end();
  }
  let status: { exitCode?: number; error?: string } | undefined;
  const frames = new FrameDecoder();
  frames.on('data', (f: ExecFrame) => {
    if (f.channel === ExecChannel.Stdout) io.stdout.write(f.payload);
    else if (f.channel === ExecChannel.Stderr) io.stderr.write(f.payload);
    else if (f.channel === ExecChannel.Status) status = JSON.parse(f.payload.toString('utf8')) as typeof status;
  });
  await client.stream('POST', path, { body: up, contentType: EXEC_CONTENT_TYPE }, frames as unknown as Writable);
  await new Promise((r) => setImmediate(r));
  if (!status) throw new Error(`exec in ${namespace}/${name}: the session ended without an exit status`);
  if (status.error) throw new Error(`exec in ${namespace}/${name}: ${status.error}`);
  return { exitCode: status.exitCode ?? 1 };
}

export const registerExecCommand = (program: Command): void => {
  program
    .command('exec')
    .description('run a command in a running container (exit code propagated)')
    .argument('<name>', 'container name')
    .argument('<command...>', 'the command and its arguments (after --)')
    .option('-i, --stdin', 'pass standard input to the command')
    .action(async (name: string, command: string[], opts: { stdin?: boolean }, cmd: Command) => {
      const globals = cmd.optsWithGlobals<GlobalOptions>();
      const client = clientFor(globals);
      try {
        const { exitCode } = await execInContainer(client, namespaceOf(client, globals), name, command, {
          stdin: opts.stdin ? process.stdin : undefined,
          stdout: process.stdout,
          stderr: process.stderr,
        });
        process.exitCode = exitCode;
      } finally {
        client.close();
      }
    });
};
