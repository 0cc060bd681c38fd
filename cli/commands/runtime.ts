/**
 * `berth runtime create|start|state|kill|delete|run|exec|list` — the OCI runtime with runc's command-line shape,
 * so the same bundle runs under `berth runtime run -b B ID` and `runc run -b B ID`.
 */
import type { Command } from 'commander';
import { BerthRuntime, DEFAULT_STATE_ROOT, type ContainerRuntime, type ExitStatus, type State } from '../../node-agent/runtime';
import { RuncRuntime } from '../../node-agent/runtime/runc';

interface RuntimeFlags {
  root?: string;
  backend?: string;
}

function runtimeOf(cmd: Command): ContainerRuntime {
  const flags = cmd.optsWithGlobals<RuntimeFlags>();
  if (flags.backend === 'runc') return flags.root ? new RuncRuntime(flags.root) : new RuncRuntime();
  if (flags.backend && flags.backend !== 'berth') throw new Error(`unknown backend ${flags.backend} (berth or runc)`);
  return new BerthRuntime({ root: flags.root ?? DEFAULT_STATE_ROOT });
}

/** The container's stdio is this command's own (as runc does without a terminal). */
const OWN_STDIO = { stdin: 0, stdout: 1, stderr: 2 } as const;

/** Forwards the signals a user sends to `berth runtime run` to the container, as runc does. */
function forwardSignals(rt: ContainerRuntime, id: string): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];
  const handler = (sig: NodeJS.Signals) => void rt.kill(id, sig).catch(() => undefined);
  signals.forEach((s) => process.on(s, handler));
  return () => signals.forEach((s) => process.off(s, handler));
}

function printTable(states: readonly State[]): void {
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED'], ...states.map((s) => [s.id, String(s.pid ?? 0), s.status, s.bundle, s.created ?? ''])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('   ').trimEnd());
}

function parseUser(spec: string): { uid: number; gid: number } {
  const [uid, gid] = spec.split(':').map(Number);
  if (!Number.isInteger(uid) || (gid !== undefined && !Number.isInteger(gid))) throw new Error(`--user ${spec}: want UID[:GID]`);
  return { uid, gid: gid ?? uid };
}

export function registerRuntimeCommands(program: Command): void {
  const runtime = program
    .command('runtime')
    .description('run OCI bundles directly (runc-compatible commands)')
    .option('--root <dir>', `state directory (default ${DEFAULT_STATE_ROOT})`)
    .option('--backend <name>', 'berth (default) or runc')
    // Options of `runtime` come before its subcommand, so that `exec ID sh -c ...` passes -c to the process.
    .enablePositionalOptions();

  runtime
    .command('create')
    .description('create a container from a bundle; it waits for `start`')
    .requiredOption('-b, --bundle <dir>', 'bundle directory (config.json + rootfs)')
    .option('--pid-file <file>', 'write the init pid here')
    .option('--init', 'run a minimal init as pid 1 (reaps zombies, forwards signals)')
    .argument('<id>')
    .action(async (id: string, o: { bundle: string; pidFile?: string; init?: boolean }, cmd: Command) => {
      await runtimeOf(cmd).create(id, o.bundle, { pidFile: o.pidFile, init: o.init, stdio: OWN_STDIO });
    });

  runtime
    .command('start')
    .description('execute the process of a created container')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => runtimeOf(cmd).start(id));

  runtime
    .command('state')
    .description('print the OCI state of a container as JSON')
    .argument('<id>')
    .action(async (id: string, _o: unknown, cmd: Command) => console.log(JSON.stringify(await runtimeOf(cmd).state(id), null, 2)));

  runtime
    .command('kill')
    .description('send a signal to the container\'s init')
    .argument('<id>')
    .argument('[signal]', 'signal name or number', 'SIGTERM')
    .action(async (id: string, signal: string, _o: unknown, cmd: Command) => runtimeOf(cmd).kill(id, signal));

  runtime
    .command('delete')
    .description('remove a stopped container (its cgroup and state)')
    .option('-f, --force', 'kill a running container first')
    .argument('<id>')
    .action(async (id: string, o: { force?: boolean }, cmd: Command) => runtimeOf(cmd).delete(id, { force: o.force }));

  runtime
    .command('run')
    .description('create + start; without --detach, wait, delete, and exit with the container\'s status')
    .requiredOption('-b, --bundle <dir>', 'bundle directory (config.json + rootfs)')
    .option('-d, --detach', 'do not wait for the container')
    .option('--pid-file <file>', 'write the init pid here')
    .option('--init', 'run a minimal init as pid 1 (reaps zombies, forwards signals)')
    .argument('<id>')
    .action(async (id: string, o: { bundle: string; detach?: boolean; pidFile?: string; init?: boolean }, cmd: Command) => {
      const rt = runtimeOf(cmd);
      const stdio = o.detach ? {} : OWN_STDIO;
      const unforward = o.detach ? () => undefined : forwardSignals(rt, id);
      try {
        const result = await rt.run(id, o.bundle, { detach: o.detach, pidFile: o.pidFile, init: o.init, stdio });
        if (!o.detach) process.exitCode = (result as ExitStatus).exitCode;
      } finally {
        unforward();
      }
    });

  runtime
    .command('exec')
    .description('run a process inside a running container')
    .option('-e, --env <VAR=value...>', 'environment (replaces the container\'s)')
    .option('--cwd <dir>', 'working directory')
    .option('-u, --user <uid[:gid]>', 'user')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .argument('<id>')
    .argument('<command...>')
    .passThroughOptions()
    .action(async (id: string, command: string[], o: { env?: string[]; cwd?: string; user?: string; tty?: boolean }, cmd: Command) => {
      const args = command[0] === '--' ? command.slice(1) : command; // `exec ID -- CMD ...` (passed through)
      const consoleSize = process.stdout.isTTY ? { height: process.stdout.rows, width: process.stdout.columns } : undefined;
      // The pty's line discipline does the echoing and editing: ours must pass every key through untouched.
      const raw = !!o.tty && process.stdin.isTTY;
      if (raw) process.stdin.setRawMode(true);
      try {
        const handle = await runtimeOf(cmd).exec(
          id,
          { args, env: o.env, cwd: o.cwd, user: o.user ? parseUser(o.user) : undefined, terminal: o.tty, consoleSize },
          OWN_STDIO,
        );
        process.exitCode = (await handle.wait()).exitCode;
      } finally {
        if (raw) process.stdin.setRawMode(false);
      }
    });

  runtime
    .command('list')
    .description('list the containers in the state directory')
    .alias('ps')
    .option('-f, --format <format>', 'table or json', 'table')
    .action(async (o: { format: string }, cmd: Command) => {
      const states = await runtimeOf(cmd).list();
      if (o.format === 'json') console.log(JSON.stringify(states, null, 2));
      else printTable(states);
    });
}
