import type * as http from 'node:http';
import { encodeFrame, ExecChannel, EXEC_CONTENT_TYPE, FrameDecoder, type ExecFrame } from '../../client/exec-stream';
import type { ContainerRuntime } from '../runtime/types';

/**
 * One exec session: the request body carries stdin frames, the response carries stdout/stderr frames and a final
 * status frame with the exit code. The process runs through the runtime's exec (the container's namespaces,
 * cgroup, capabilities, seccomp and user).
 */
export async function serveExec(runtime: ContainerRuntime, containerId: string, command: string[], withStdin: boolean, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  res.writeHead(200, { 'Content-Type': EXEC_CONTENT_TYPE });
  res.flushHeaders();
  const send = (channel: ExecChannel, payload: Buffer | string) => res.write(encodeFrame(channel, payload));
  let handle;
  try {
    handle = await runtime.exec(containerId, { args: command }, { stdin: withStdin ? 'pipe' : 'null', stdout: 'pipe', stderr: 'pipe' });
  } catch (err) {
    send(ExecChannel.Status, JSON.stringify({ error: (err as Error).message }));
    return void res.end();
  }
  handle.stdout?.on('data', (d: Buffer) => send(ExecChannel.Stdout, d));
  handle.stderr?.on('data', (d: Buffer) => send(ExecChannel.Stderr, d));
  if (withStdin && handle.stdin) {
    const stdin = handle.stdin;
    stdin.on('error', () => undefined); // the process may exit before reading everything
    req.pipe(new FrameDecoder()).on('data', (frame: ExecFrame) => {
      if (frame.channel === ExecChannel.Stdin) stdin.write(frame.payload);
      else if (frame.channel === ExecChannel.CloseStdin) stdin.end();
    });
    req.on('end', () => stdin.end());
  }
  req.on('close', () => {
    // The client went away: the exec'd process should not outlive its session.
    if (!res.writableEnded) process.kill(handle.pid, 'SIGKILL');
  });
  const ended = (s?: NodeJS.ReadableStream) => (s ? new Promise((r) => s.once('end', r)) : Promise.resolve());
  const exit = await handle.wait();
  await Promise.all([ended(handle.stdout), ended(handle.stderr)]);
  send(ExecChannel.Status, JSON.stringify(exit));
  res.end();
}
