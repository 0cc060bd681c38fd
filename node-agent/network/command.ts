/** Runs host tools (ip, iptables) without a shell; the only place in network/ that spawns processes. */
import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: CommandResult,
  ) {
    super(`${argv.join(' ')} exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'CommandError';
  }
}

/** Runs `argv` with `input` on stdin; resolves with the exit code and output (never rejects on a non-zero exit). */
export function runCommand(argv: readonly string[], input = ''): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (err) => reject(new Error(`spawn ${argv[0]}: ${err.message}`, { cause: err })));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the tool may exit before reading all input; its exit code tells.
    child.stdin.end(input);
  });
}

/** Like `runCommand` but throws `CommandError` on a non-zero exit. */
export async function runChecked(argv: readonly string[], input = ''): Promise<CommandResult> {
  const result = await runCommand(argv, input);
  if (result.code !== 0) throw new CommandError(argv, result);
  return result;
}

/** `argv` run inside the named network namespace `netns` (a simulated host in tests), or as is when undefined. */
export function inNetns(netns: string | undefined, argv: readonly string[]): string[] {
  return netns ? ['ip', 'netns', 'exec', netns, ...argv] : [...argv];
}
