/**
 * `npm run bench:runtime`: Berth's runtime against runc on the same busybox bundle.
 *  - one /bin/true container, median of SAMPLES: `runc run` (the reference) vs Berth called in-process as
 *    the agent calls it (create, start, wait, delete), vs the `berth runtime run` command (which pays
 *    Node's start-up, measured separately; both through the whole CLI and with only the runtime
 *    command's module loaded), vs the floor `unshare --fork --pid --mount --uts --ipc --net`;
 *  - DETACHED detached `sleep` containers started back to back: total time, and resident memory per
 *    running container beyond the container's own process (PSS of per-container helper processes),
 *    runc vs Berth.
 * The last line of output is one JSON object with every figure and ratio.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BerthRuntime, type ContainerRuntime, type State } from '../node-agent/runtime';
import { RuncRuntime, RUNC_BINARY, RUNC_STATE_ROOT } from '../node-agent/runtime/runc';
import { defaultSpec } from '../node-agent/runtime/spec';
import { makeBundle, uniqueId, type Bundle } from '../test/helpers/rootfs';
import { median } from './stats';

const SAMPLES = 25;
const DETACHED = 100;
const CLI = path.resolve(__dirname, '..', 'cli', 'main.js');
const RUNTIME_COMMANDS = path.resolve(__dirname, '..', 'cli', 'commands', 'runtime.js');

/** argv of `berth runtime run -b B ID` through the real CLI (undefined while cli/main.ts lacks the command). */
function berthCliArgv(bundle: string, id: string): string[] | undefined {
  if (!fs.readFileSync(CLI, 'utf8').includes('registerRuntimeCommands')) return undefined;
  return [process.execPath, CLI, 'runtime', 'run', '-b', bundle, id];
}

/**
 * argv of the same command with only its own module loaded (commander + cli/commands/runtime.js): what
 * the CLI would cost if it loaded the other commands' modules lazily.
 */
function runtimeCommandOnlyArgv(bundle: string, id: string): string[] {
  const script = `const { Command } = require('commander'); const p = new Command('berth'); require(${JSON.stringify(RUNTIME_COMMANDS)}).registerRuntimeCommands(p); p.parseAsync(process.argv.slice(1), { from: 'user' }).catch((e) => { console.error(e.message); process.exit(1); });`;
  return [process.execPath, '-e', script, '--', 'runtime', 'run', '-b', bundle, id];
}

const now = () => Number(process.hrtime.bigint()) / 1e6;
const round = (x: number, digits = 2) => Number(x.toFixed(digits));

function exec(argv: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${stderr}`))));
  });
}

/** Median wall time (ms) of `fn` over SAMPLES runs, after one warm-up. */
async function medianOf(label: string, fn: (i: number) => Promise<unknown>): Promise<number> {
  await fn(-1);
  const times: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t = now();
    await fn(i);
    times.push(now() - t);
  }
  const m = median(times);
  console.log(`${label.padEnd(48)} median ${m.toFixed(2)} ms  (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)})`);
  return m;
}

/** A copy of the bundle's config with `linux.cgroupsPath` below berth/, in its own directory (runc reads config.json from the bundle). */
function runcBundle(base: Bundle, dir: string, args: string[], cgroupName: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const spec = defaultSpec({ args, rootfs: base.rootfs });
  spec.linux!.cgroupsPath = `/berth/${cgroupName}`;
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(spec));
  return dir;
}

function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))![1]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0; // the process is gone
    throw err;
  }
}

function parentOf(pid: number): number {
  return Number(/PPid:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

interface DetachedFigures {
  totalMs: number;
  helperPssKiBPerContainer: number;
  helperProcessesPerContainer: number;
}

/**
 * Starts DETACHED sleep containers with `start(i)` (which resolves with the init pid), measures,
 * then removes them with `remove(i)`. Memory beyond the container's own process: the PSS of the
 * init's parent when that is a per-container helper (Berth's shim; runc leaves none: the parent is
 * pid 1). A host-wide figure (MemAvailable) is not used: other work on the host drowns it.
 */
async function detached(label: string, start: (i: number) => Promise<number>, remove: (i: number) => Promise<void>): Promise<DetachedFigures> {
  const pids: number[] = [];
  const t = now();
  for (let i = 0; i < DETACHED; i++) pids.push(await start(i));
  const totalMs = now() - t;
  const helpers = pids.map(parentOf).filter((p) => p !== 1 && p !== process.pid);
  const helperPss = helpers.reduce((sum, p) => sum + pssKiB(p), 0);
  for (let i = 0; i < DETACHED; i++) await remove(i);
  const figures = {
    totalMs: round(totalMs),
    helperPssKiBPerContainer: round(helperPss / DETACHED),
    helperProcessesPerContainer: round(helpers.length / DETACHED),
  };
  console.log(`${label.padEnd(48)} total ${figures.totalMs} ms; ${figures.helperProcessesPerContainer} helper process(es) per container, PSS ${figures.helperPssKiBPerContainer} KiB/container`);
  return figures;
}

async function main(): Promise<void> {
  const bundle = makeBundle({ args: ['/bin/true'] });
  const work = fs.mkdtempSync('/tmp/berth-bench-runtime-');
  const berth: ContainerRuntime = new BerthRuntime();
  const runcInProcess: ContainerRuntime = new RuncRuntime();
  try {
    const floor = await medianOf('floor: unshare --fork --pid --mount --uts --ipc --net', () =>
      exec(['unshare', '--fork', '--pid', '--mount', '--uts', '--ipc', '--net', '/bin/true']),
    );
    const runcDir = runcBundle(bundle, path.join(work, 'runc-true'), ['/bin/true'], uniqueId('bench-runc'));
    const runcRun = await medianOf('runc run /bin/true', () => exec([RUNC_BINARY, '--root', RUNC_STATE_ROOT, 'run', '--bundle', runcDir, uniqueId('bench')]));
    const lifecycle = (rt: ContainerRuntime) => async () => {
      const id = uniqueId('bench');
      await rt.create(id, bundle.dir);
      await rt.start(id);
      await rt.wait(id);
      await rt.delete(id);
    };
    const berthInProcess = await medianOf('berth in-process create+start+wait+delete', lifecycle(berth));
    const runcViaBackend = await medianOf('runc backend in-process create+start+wait+delete', lifecycle(runcInProcess));
    const nodeStartup = await medianOf('node start-up (node -e 0)', () => exec([process.execPath, '-e', '0']));
    const cliArgv = berthCliArgv(bundle.dir, 'probe');
    const berthCli = cliArgv
      ? await medianOf('berth runtime run (node + whole CLI + runtime)', () => exec(berthCliArgv(bundle.dir, uniqueId('bench'))!))
      : undefined;
    const berthCommandOnly = await medianOf('berth runtime run, command module only', () => exec(runtimeCommandOnlyArgv(bundle.dir, uniqueId('bench'))));

    bundle.write(defaultSpec({ args: ['/bin/sleep', '3600'] }));
    const runcDirs = Array.from({ length: DETACHED }, (_, i) => runcBundle(bundle, path.join(work, `runc-sleep-${i}`), ['/bin/sleep', '3600'], uniqueId('bench-runc')));
    const runcIds = runcDirs.map(() => uniqueId('bench-runc'));
    const runcDetached = await detached(
      `${DETACHED} detached sleep: runc run -d`,
      async (i) => {
        await exec([RUNC_BINARY, '--root', RUNC_STATE_ROOT, 'run', '-d', '--pid-file', path.join(runcDirs[i], 'pid'), '--bundle', runcDirs[i], runcIds[i]]);
        return Number(fs.readFileSync(path.join(runcDirs[i], 'pid'), 'utf8'));
      },
      (i) => exec([RUNC_BINARY, '--root', RUNC_STATE_ROOT, 'delete', '--force', runcIds[i]]),
    );
    const berthIds = runcIds.map(() => uniqueId('bench-berth'));
    const berthDetached = await detached(
      `${DETACHED} detached sleep: berth in-process run --detach`,
      async (i) => ((await berth.run(berthIds[i], bundle.dir, { detach: true })) as State).pid!,
      (i) => berth.delete(berthIds[i], { force: true }),
    );

    const figures = {
      samples: SAMPLES,
      floorUnshareMs: round(floor),
      runcRunMs: round(runcRun),
      berthInProcessMs: round(berthInProcess),
      runcBackendInProcessMs: round(runcViaBackend),
      berthCliMs: berthCli === undefined ? null : round(berthCli),
      berthRuntimeCommandOnlyMs: round(berthCommandOnly),
      nodeStartupMs: round(nodeStartup),
      ratioBerthInProcessToRunc: round(berthInProcess / runcRun, 3),
      ratioBerthCliToRunc: berthCli === undefined ? null : round(berthCli / runcRun, 3),
      ratioBerthRuntimeCommandOnlyToRunc: round(berthCommandOnly / runcRun, 3),
      ratioBerthInProcessToFloor: round(berthInProcess / floor, 3),
      detachedCount: DETACHED,
      runcDetachedTotalMs: runcDetached.totalMs,
      berthDetachedTotalMs: berthDetached.totalMs,
      ratioDetachedBerthToRunc: round(berthDetached.totalMs / runcDetached.totalMs, 3),
      runcHelperPssKiBPerContainer: runcDetached.helperPssKiBPerContainer,
      berthHelperPssKiBPerContainer: berthDetached.helperPssKiBPerContainer,
      runcHelperProcessesPerContainer: runcDetached.helperProcessesPerContainer,
      berthHelperProcessesPerContainer: berthDetached.helperProcessesPerContainer,
    };
    console.log(JSON.stringify(figures));
  } finally {
    bundle.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
