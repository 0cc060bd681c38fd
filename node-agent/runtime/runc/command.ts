/** Running the runc binary: one invocation, its output, and failures that carry runc's own message. */
import { spawn, type StdioOptions } from 'node:child_process';

export const RUNC_BINARY = '/usr/sbin/runc';

export class RuncError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`runc ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || 'no message'}`);
    this.name = 'RuncError';
  }
}

export interface RuncResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * Runs `runc --root <root> ...args`. With `stdio` given, the container inherits those descriptors
 * (stdout/stderr are then not captured). Settles on the runc process' exit, not on the closing of
 * pipes a detached container may still hold.
 */
export function runRunc(root: string, args: readonly string[], stdio?: StdioOptions): Promise<RuncResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(RUNC_BINARY, ['--root', root, ...args], { stdio: stdio ?? ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`cannot run ${RUNC_BINARY}: ${err.message}`, { cause: err })));
    child.on('exit', (code, signal) => {
      // A detached container keeps our pipes open: stop listening instead of waiting for their end.
      child.stdout?.destroy();
      child.stderr?.destroy();
      resolve({ stdout, stderr, code, signal });
    });
  });
}

/** Like runRunc, but rejects with a RuncError unless runc exits 0; resolves with its stdout. */
export async function runcOk(root: string, args: readonly string[], stdio?: StdioOptions): Promise<string> {
  const r = await runRunc(root, args, stdio);
  if (r.code !== 0) throw new RuncError(args, r.code, r.stderr);
  return r.stdout;
}
