/**
 * Berth's own OCI runtime: the TypeScript half of create/start/state/kill/delete/exec. Container set-up runs in
 * native/ (berth-shim), reached through the NativeRuntime seam; cgroups through the CgroupManager.
 *
 * create: validate config.json → compile seccomp (cached on disk) → claim the state dir → cgroup create + limits and
 * config.bin → spawn the shim → sync PIDS (the shim puts the init in its cgroup meanwhile) → sync READY.
 * The shim outlives the agent and records the exit status in the state dir, so a restarted agent re-adopts
 * every container from its state dir alone (pid + start time).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import * as tty from 'node:tty';
import { createCgroupManager, type CgroupManager } from '../cgroups';
import { waitFor } from '../cgroups/files';
import { loadNative, SyncMessage, type NativeRuntime, type NativeStdio } from '../native';
import { loadBundleAsync, OCI_VERSION, SpecError, type RuntimeSpec } from '../spec';
import {
  canDelete,
  canKill,
  canStart,
  ContainerNotFoundError,
  ContainerStateError,
  type ContainerRuntime,
  type ContainerStatus,
  type CreateOptions,
  type DeleteOptions,
  type ExecHandle,
  type ExecProcess,
  type ExitStatus,
  type State,
  type Stdio,
} from '../types';
import { childrenOf, isSameProcess, killProcess, parentOf, processStartTime, shimsIn, signalName, signalNumber, type ProcessRef } from './proc';
import { DEFAULT_SECCOMP_CACHE, seccompProgramFile } from './seccomp-cache';
import { serializeExecConfig, serializeInitConfig } from './serialize';
import { SyncChannel } from './sync-channel';
import { DEFAULT_STATE_ROOT, StateDir, type RecordedExit, type StoredState } from './state-dir';
import { writeFile } from '../small-files';

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Upper bounds for the set-up handshake; a healthy container needs a few milliseconds. */
const PIDS_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 30_000;
/** How often `wait` checks that the init still exists, for the case no exit file will ever come. */
const SHIM_CHECK_MS = 2000;
/** How long `delete` waits for killed processes to be gone, and for the cgroup to empty. */
const KILL_TIMEOUT_MS = 10_000;

export interface BerthRuntimeOptions {
  /** State directory root; default /run/berth/runtime. */
  readonly root?: string;
  /** Compiled seccomp programs; default /run/berth/seccomp. */
  readonly seccompCache?: string;
  readonly native?: NativeRuntime;
  readonly cgroups?: (id: string, cgroupsPath?: string) => CgroupManager;
}

/** Opened stdio fds plus the ones to close after handing them over. */
interface ResolvedStdio {
  readonly fds: NativeStdio;
  close(): void;
}

function resolveStdio(stdio: Stdio | undefined): ResolvedStdio {
  const opened: number[] = [];
  const one = (v: number | string | undefined, read: boolean): number => {
    if (v === undefined || v === 'null') return -1;
    if (typeof v === 'number') return v;
    const fd = fs.openSync(v, read ? 'r' : 'a');
    opened.push(fd);
    return fd;
  };
  try {
    const fds = { stdin: one(stdio?.stdin, true), stdout: one(stdio?.stdout, false), stderr: one(stdio?.stderr, false) };
    return { fds, close: () => opened.forEach((fd) => fs.closeSync(fd)) };
  } catch (err) {
    opened.forEach((fd) => fs.closeSync(fd));
    throw err;
  }
}

/** One window-size record for the exec shim's fd 3: u16 rows, u16 cols, little-endian (native/src/supervise.h). */
function resizeTerminal(pipe: Writable | null, size: { readonly width: number; readonly height: number }): void {
  if (!pipe || pipe.destroyed) return;
  const record = Buffer.alloc(4);
  record.writeUInt16LE(Math.max(0, Math.min(0xffff, Math.trunc(size.height))), 0);
  record.writeUInt16LE(Math.max(0, Math.min(0xffff, Math.trunc(size.width))), 2);
  pipe.write(record);
}

/** Extra checks on top of parseBundleConfig for what this runtime cannot do. */
function checkSupported(spec: RuntimeSpec): void {
  const mountNs = spec.linux?.namespaces?.find((n) => n.type === 'mount');
  if (!mountNs || mountNs.path) throw new SpecError('linux.namespaces', 'a new mount namespace is required');
}

/**
 * For `process.terminal`: a caller whose stdio is a terminal (a foreground `berth runtime run` in a shell)
 * hands it to the process as it is; otherwise the init allocates a pseudo-terminal, which the shim relays to
 * the given stdin and stdout (there is no console socket).
 */
function needsOwnTerminal(spec: RuntimeSpec, stdio: Stdio | undefined): boolean {
  const isTerminal = (fd: number | string | undefined) => typeof fd === 'number' && tty.isatty(fd);
  return !!spec.process?.terminal && !(isTerminal(stdio?.stdin) && isTerminal(stdio?.stdout) && isTerminal(stdio?.stderr));
}

export class BerthRuntime implements ContainerRuntime {
  readonly name = 'berth';
  private readonly root: string;
  private readonly seccompCache: string;
  private readonly nativeOverride?: NativeRuntime;
  private readonly cgroupsFor: (id: string, cgroupsPath?: string) => CgroupManager;

  constructor(opts: BerthRuntimeOptions = {}) {
    this.root = opts.root ?? DEFAULT_STATE_ROOT;
    this.seccompCache = opts.seccompCache ?? DEFAULT_SECCOMP_CACHE;
    this.nativeOverride = opts.native;
    this.cgroupsFor = opts.cgroups ?? createCgroupManager;
  }

  /** Loaded on first use, so that constructing a runtime (e.g. for `list`) does not need the native build. */
  private get native(): NativeRuntime {
    return this.nativeOverride ?? loadNative();
  }

  private stateDir(id: string): StateDir {
    if (!ID_PATTERN.test(id)) throw new Error(`invalid container id ${JSON.stringify(id)}: use [A-Za-z0-9_.-], at most 128`);
    return StateDir.of(this.root, id);
  }

  async create(id: string, bundle: string, opts: CreateOptions = {}): Promise<State> {
    const dir = this.stateDir(id);
    const bundleDir = path.resolve(bundle);
    // Everything that can reject the config happens before anything is created.
    const spec = await loadBundleAsync(bundleDir);
    checkSupported(spec);
    const caps = spec.process?.capabilities;
    const seccompFile = spec.linux?.seccomp ? seccompProgramFile(this.seccompCache, spec.linux.seccomp, caps?.bounding ?? []) : undefined;
    if (!(await dir.claim())) throw new Error(`container ${id} already exists`);

    const cgroup = this.cgroupsFor(id, spec.linux?.cgroupsPath);
    // With a log the shim owns the container's stdout and stderr (pipes to itself).
    const stdio = opts.log ? { stdin: opts.stdio?.stdin } : opts.stdio;
    // The shim runs in `/`.
    const log = opts.log ? { ...opts.log, path: path.resolve(opts.log.path) } : undefined;
    let pid = 0;
    try {
      // Off the event loop and side by side: the cgroup (kernel locks) and the state files (the disk).
      const prepared = await Promise.allSettled([
        cgroup.create().then(() => cgroup.setResources(spec.linux?.resources ?? {})),
        writeFile(dir.file('spec.json'), JSON.stringify(spec)),
        writeFile(
          dir.file('config.bin'),
          serializeInitConfig({
            spec,
            bundle: bundleDir,
            fifo: dir.file('exec.fifo'),
            exitFile: dir.file('exit'),
            seccompFile,
            cgroups: { version: cgroup.version, directories: cgroup.directories },
            init: opts.init,
            allocateTerminal: needsOwnTerminal(spec, stdio),
            log,
          }),
        ),
      ]);
      const failed = prepared.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      await this.spawnInit(dir, stdio, (initPid) => (pid = initPid));
      const state: StoredState = {
        ociVersion: spec.ociVersion,
        id,
        pid,
        startTime: processStartTime(pid) ?? '',
        bundle: bundleDir,
        created: new Date().toISOString(),
        annotations: spec.annotations,
        cgroupsPath: spec.linux?.cgroupsPath,
        seccompFile,
        shim: parentOf(pid),
      };
      await dir.writeState(state);
      if (opts.pidFile) await writeFile(opts.pidFile, String(pid));
      return this.describe(state, 'created');
    } catch (err) {
      await this.undoCreate(dir, cgroup, pid);
      throw new Error(`create container ${id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The shim handshake (native/src/sync.h): settles once the init waits for `start`; `onPid` learns the init's
   *  host pid as soon as it exists (so that a failure after that can kill it). The shim puts the init in its
   *  cgroups (the `cgroup.procs` files of config.bin) while the init sets up its filesystem. */
  private async spawnInit(dir: StateDir, stdio: Stdio | undefined, onPid: (pid: number) => void): Promise<void> {
    const io = resolveStdio(stdio);
    let channel: SyncChannel;
    try {
      channel = new SyncChannel(await this.native.spawnShim(dir.file('config.bin'), io.fds));
    } finally {
      io.close();
    }
    try {
      onPid(await channel.expect(SyncMessage.PIDS, PIDS_TIMEOUT_MS));
      await channel.expect(SyncMessage.READY, READY_TIMEOUT_MS);
    } finally {
      await channel.close();
    }
  }

  private async undoCreate(dir: StateDir, cgroup: CgroupManager, initPid: number): Promise<void> {
    const startTime = initPid > 0 ? processStartTime(initPid) : undefined;
    try {
      await this.killEverything(dir, cgroup, startTime === undefined ? undefined : { pid: initPid, startTime }, undefined, 2000);
      await cgroup.destroy();
    } finally {
      await dir.remove();
    }
  }

  /**
   * Kills every process of the container, found on the host and not only in state.json: first the init (its shim
   * then records the exit, which a pending `wait` reports), then what is left — the shims still working in the
   * state directory with their children (an init not yet in its cgroup), and every process in the cgroup (a
   * container whose creator died mid-create has no recorded pid). A shim outliving its creator is harmless to a
   * re-created directory (it works through an fd of the old one) but would leak. A shim may fork (the double fork, the init) while it is being looked for: search again until a
   * search finds none. The shim recorded in state.json spares the search of /proc (milliseconds per hundred
   * processes). Throws, naming them, if processes are still alive after `timeoutMs`.
   */
  private async killEverything(dir: StateDir, cgroup: CgroupManager, init: ProcessRef | undefined, recordedShim: ProcessRef | undefined, timeoutMs: number): Promise<void> {
    if (init && killProcess(init)) await this.waitForExitFile(dir, { timeoutMs, isInitAlive: () => isSameProcess(init.pid, init.startTime) });
    const deadline = Date.now() + timeoutMs;
    for (let shims = recordedShim ? [recordedShim] : shimsIn(dir.dir); shims.length > 0; shims = recordedShim ? [] : shimsIn(dir.dir)) {
      const strays = [...shims, ...shims.flatMap((s) => childrenOf(s.pid))];
      strays.forEach(killProcess);
      if (!(await waitFor(() => strays.every((p) => !isSameProcess(p.pid, p.startTime)), deadline - Date.now()))) {
        const alive = strays.filter((p) => isSameProcess(p.pid, p.startTime)).map((p) => p.pid);
        throw new Error(`shim processes ${alive.join(', ')} of ${dir.dir} still alive ${timeoutMs} ms after SIGKILL`);
      }
    }
    if (cgroup.pids().length > 0) await cgroup.killAll('SIGKILL');
  }

  async start(id: string): Promise<void> {
    const { state, dir } = this.load(id);
    if (!canStart(state.status)) throw new ContainerStateError(id, state.status, 'start');
    let fd: number;
    try {
      // O_NONBLOCK: fails with ENXIO instead of hanging if the init no longer holds the fifo open.
      fd = fs.openSync(dir.file('exec.fifo'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw new Error(`start container ${id}: its init is not waiting: ${(err as Error).message}`, { cause: err });
    }
    try {
      fs.writeSync(fd, Buffer.from([0]));
    } finally {
      fs.closeSync(fd);
    }
    fs.unlinkSync(dir.file('exec.fifo'));
  }

  async state(id: string): Promise<State> {
    return this.load(id).state;
  }

  private load(id: string): { state: State; stored?: StoredState; dir: StateDir } {
    const dir = this.stateDir(id);
    if (!dir.exists()) throw new ContainerNotFoundError(id);
    const stored = dir.readState();
    if (!stored) return { dir, state: { ociVersion: OCI_VERSION, id, status: 'creating', bundle: '' } };
    return { dir, stored, state: this.describe(stored, this.statusOf(dir, stored)) };
  }

  private statusOf(dir: StateDir, stored: StoredState): ContainerStatus {
    if (dir.readExit() || !isSameProcess(stored.pid, stored.startTime)) return 'stopped';
    return dir.isWaitingForStart() ? 'created' : 'running';
  }

  private describe(s: StoredState, status: ContainerStatus): State {
    return {
      ociVersion: s.ociVersion,
      id: s.id,
      status,
      ...(status === 'stopped' ? {} : { pid: s.pid }),
      bundle: s.bundle,
      annotations: s.annotations ?? {},
      created: s.created,
    };
  }

  async kill(id: string, signal: string | number = 'SIGTERM'): Promise<void> {
    const { state } = this.load(id);
    if (!canKill(state.status) || !state.pid) throw new ContainerStateError(id, state.status, 'kill');
    process.kill(state.pid, signalNumber(signal));
  }

  async delete(id: string, opts: DeleteOptions = {}): Promise<void> {
    const { state, stored, dir } = this.load(id);
    if (!canDelete(state.status) && !opts.force) throw new ContainerStateError(id, state.status, 'delete');
    const cgroup = this.cgroupsFor(id, stored?.cgroupsPath ?? this.cgroupsPathOfSpec(dir));
    const init = state.pid && stored ? { pid: state.pid, startTime: stored.startTime } : undefined;
    await this.killEverything(dir, cgroup, init, stored?.shim, KILL_TIMEOUT_MS);
    // SIGKILLed processes leave the cgroup within milliseconds, but on a loaded v1 host emptying can take seconds.
    await cgroup.destroy({ timeoutMs: KILL_TIMEOUT_MS });
    await dir.remove();
  }

  private cgroupsPathOfSpec(dir: StateDir): string | undefined {
    try {
      return dir.readSpec().linux?.cgroupsPath;
    } catch {
      return undefined; // the agent died before writing it
    }
  }

  async run(id: string, bundle: string, opts: CreateOptions & { readonly detach?: boolean } = {}): Promise<ExitStatus | State> {
    await this.create(id, bundle, opts);
    try {
      await this.start(id);
    } catch (err) {
      await this.delete(id, { force: true });
      throw err;
    }
    if (opts.detach) return this.state(id);
    const status = await this.wait(id);
    await this.delete(id, { force: true });
    return status;
  }

  async exec(id: string, proc: ExecProcess, stdio: Stdio = {}): Promise<ExecHandle> {
    const { state, stored, dir } = this.load(id);
    if (state.status !== 'running' || !state.pid) throw new ContainerStateError(id, state.status, 'exec in');
    const cgroup = this.cgroupsFor(id, stored?.cgroupsPath);
    const config = serializeExecConfig({
      spec: dir.readSpec(),
      process: proc,
      targetPid: state.pid,
      cgroupProcs: cgroup.procsFiles,
      seccompFile: stored?.seccompFile,
    });
    const configFile = path.join(dir.dir, `exec-${crypto.randomBytes(6).toString('hex')}.bin`);
    fs.writeFileSync(configFile, config);
    const io = (v: number | string | undefined, read: boolean): number | 'pipe' | 'ignore' => {
      if (v === undefined || v === 'null') return 'ignore';
      if (v === 'pipe' || typeof v === 'number') return v;
      return fs.openSync(v, read ? 'r' : 'a');
    };
    // With a terminal, fd 3 of the shim takes window sizes (native/src/supervise.h).
    const stdioOpts: StdioOptions = [io(stdio.stdin, true), io(stdio.stdout, false), io(stdio.stderr, false), ...(proc.terminal ? ['pipe' as const] : [])];
    const child = spawn(this.native.shimPath, ['exec', configFile], { stdio: stdioOpts });
    // Fds we opened for file paths were duplicated into the child.
    stdioOpts.forEach((v, i) => {
      const given = [stdio.stdin, stdio.stdout, stdio.stderr][i];
      if (typeof v === 'number' && typeof given === 'string') fs.closeSync(v);
    });
    // A resize racing the exit meets a closed pipe: nothing to tell the process any more.
    (child.stdio[3] as Writable | null)?.on('error', () => undefined);
    const exited = new Promise<ExitStatus>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => {
        fs.rmSync(configFile, { force: true });
        (child.stdio[3] as Writable | null)?.destroy();
        if (signal) resolve({ exitCode: 128 + (signalNumber(signal) ?? 0), signal });
        else resolve({ exitCode: code ?? 255 });
      });
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', (err) => reject(new Error(`exec in container ${id}: ${err.message}`, { cause: err })));
    });
    return {
      pid: child.pid!,
      stdin: child.stdin ?? undefined,
      stdout: child.stdout ?? undefined,
      stderr: child.stderr ?? undefined,
      ...(proc.terminal ? { resize: (size: { width: number; height: number }) => resizeTerminal(child.stdio[3] as Writable | null, size) } : {}),
      wait: () => exited,
    };
  }

  async list(): Promise<State[]> {
    let ids: string[];
    try {
      ids = fs.readdirSync(this.root);
    } catch {
      return [];
    }
    const states: State[] = [];
    for (const id of ids.filter((i) => ID_PATTERN.test(i)).sort()) {
      try {
        states.push(this.load(id).state);
      } catch {
        // removed meanwhile
      }
    }
    return states;
  }

  async wait(id: string): Promise<ExitStatus> {
    const { stored, dir } = this.load(id);
    const exit = await this.waitForExitFile(dir, {
      isInitAlive: () => !!stored && isSameProcess(stored.pid, stored.startTime),
    });
    if (!exit) throw new Error(`wait for container ${id}: no exit status recorded (state directory removed, or the shim was killed)`);
    let oomKilled = false;
    try {
      oomKilled = this.cgroupsFor(id, stored?.cgroupsPath).oomKilled();
    } catch {
      // cgroup already removed: no OOM information left
    }
    return {
      exitCode: exit.exitCode,
      ...(exit.signal ? { signal: signalName(exit.signal) ?? String(exit.signal) } : {}),
      ...(oomKilled ? { oomKilled } : {}),
    };
  }

  /**
   * Resolves with the shim's record of the exit, watching the state dir with inotify (no polling); resolves
   * undefined after `timeoutMs`, if the directory disappears, or — the safety net for a shim killed before it
   * could write — when `isInitAlive` has said no on two checks in a row, SHIM_CHECK_MS apart.
   */
  private waitForExitFile(
    dir: StateDir,
    opts: { readonly timeoutMs?: number; readonly isInitAlive?: () => boolean } = {},
  ): Promise<RecordedExit | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const timers: NodeJS.Timeout[] = [];
      let watcher: fs.FSWatcher | undefined;
      const finish = (exit: RecordedExit | undefined) => {
        if (done) return;
        done = true;
        watcher?.close();
        timers.forEach((t) => clearTimeout(t));
        resolve(exit);
      };
      const check = () => {
        const exit = dir.readExit();
        if (exit) finish(exit);
        else if (!dir.exists()) finish(undefined);
      };
      try {
        // Watch first, then look: an exit written in between is caught by the look.
        watcher = fs.watch(dir.dir, check);
        watcher.on('error', () => finish(dir.readExit()));
      } catch {
        finish(dir.readExit());
        return;
      }
      if (opts.timeoutMs !== undefined) timers.push(setTimeout(() => finish(dir.readExit()), opts.timeoutMs));
      if (opts.isInitAlive) {
        let deadChecks = 0;
        const isInitAlive = opts.isInitAlive;
        const watchdog = () => {
          deadChecks = isInitAlive() ? 0 : deadChecks + 1;
          if (deadChecks >= 2) finish(dir.readExit());
        };
        timers.push(setInterval(watchdog, SHIM_CHECK_MS));
      }
      check();
    });
  }
}
