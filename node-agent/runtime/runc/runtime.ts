/**
 * The runc backend: `ContainerRuntime` over /usr/sbin/runc, with its state under /run/berth/runc and
 * every cgroup below the `berth` parent (through a shadow bundle, see bundle.ts).
 *
 * Exit status: runc's detached containers are reparented away from us, so for containers made with
 * create()+start() `wait()` can only observe that the init is gone and reports `exitCode: -1`
 * (unknown). `run()` without `detach` keeps runc in the foreground and reports the exact status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createCgroupManager } from '../cgroups';
import type { RuntimeSpec } from '../spec';
import {
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
import { originalBundle, writeShadowBundle } from './bundle';
import { RUNC_BINARY, runcOk, runRunc, RuncError, type RuncResult } from './command';
import { openStdio } from './stdio';

export const RUNC_STATE_ROOT = '/run/berth/runc';
const SHADOW_ROOT = '/run/berth/runc-bundles';
const PID_FILE = 'init.pid';

interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: string;
  bundle: string;
  created: string;
  annotations?: Record<string, string>;
}

const NOT_FOUND = /does not exist|not exist/;

/**
 * runc exits with the container's status, 128+N when its process died of signal N — which it cannot
 * tell apart from exit(128+N), so `signal` stays unset here (only a signal to runc itself sets it).
 */
function exitStatusOf(r: RuncResult, oomKilled: boolean): ExitStatus {
  const code = r.code ?? 128 + (os.constants.signals[r.signal ?? 'SIGKILL'] ?? 9);
  return { exitCode: code, ...(r.signal ? { signal: r.signal } : {}), ...(oomKilled ? { oomKilled } : {}) };
}

function processAlive(pid: number): boolean {
  try {
    // A zombie (waiting for pid 1 to reap it) still answers kill(0); it counts as exited.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Polls (1 ms doubling to 20 ms) until `pid` has exited: it is not our child, so it cannot be waited for. */
async function untilExited(pid: number): Promise<void> {
  for (let pause = 1; processAlive(pid); pause = Math.min(pause * 2, 20)) {
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

export class RuncRuntime implements ContainerRuntime {
  readonly name = 'runc';

  constructor(
    private readonly root = RUNC_STATE_ROOT,
    private readonly shadowRoot = SHADOW_ROOT,
  ) {}

  private shadowDir(id: string): string {
    return path.join(this.shadowRoot, id);
  }

  private async runc(args: readonly string[], id: string): Promise<string> {
    try {
      return await runcOk(this.root, args);
    } catch (err) {
      if (err instanceof RuncError && NOT_FOUND.test(err.stderr)) throw new ContainerNotFoundError(id);
      throw err;
    }
  }

  /** runc writes the init pid into the shadow bundle; wait() reads it from there (one runc call fewer). */
  private pidFile(id: string): string {
    return path.join(this.shadowDir(id), PID_FILE);
  }

  private createArgs(id: string, shadow: string, opts: CreateOptions): string[] {
    if (opts.init) throw new Error('the runc backend has no minimal init (CreateOptions.init)');
    if (opts.log) throw new Error('the runc backend writes no logs of its own (CreateOptions.log): give stdio');
    return ['--bundle', shadow, '--pid-file', this.pidFile(id), id];
  }

  async create(id: string, bundle: string, opts: CreateOptions = {}): Promise<State> {
    const shadow = writeShadowBundle(this.shadowDir(id), id, bundle);
    const io = openStdio(opts.stdio);
    try {
      await runcOk(this.root, ['create', ...this.createArgs(id, shadow.dir, opts)], io.stdio);
    } catch (err) {
      fs.rmSync(shadow.dir, { recursive: true, force: true });
      throw err;
    } finally {
      io.close();
    }
    const pid = Number(fs.readFileSync(this.pidFile(id), 'utf8'));
    if (opts.pidFile) fs.writeFileSync(opts.pidFile, String(pid));
    return {
      ociVersion: shadow.spec.ociVersion,
      id,
      status: 'created',
      pid,
      bundle: path.resolve(bundle),
      annotations: shadow.spec.annotations ?? {},
      created: new Date().toISOString(),
    };
  }

  async start(id: string): Promise<void> {
    try {
      await this.runc(['start', id], id);
    } catch (err) {
      // runc checks the status itself; turn its refusal into the contract's error.
      const refused = err instanceof RuncError && /cannot start .*(running|stopped)/.exec(err.stderr);
      if (refused) throw new ContainerStateError(id, refused[1] as ContainerStatus, 'start');
      throw err;
    }
  }

  async state(id: string): Promise<State> {
    const s = JSON.parse(await this.runc(['state', id], id)) as RuncState;
    const status: ContainerStatus = s.status === 'paused' ? 'running' : (s.status as ContainerStatus);
    return {
      ociVersion: s.ociVersion,
      id: s.id,
      status,
      ...(status === 'stopped' ? {} : { pid: s.pid }),
      bundle: originalBundle(this.shadowDir(id)) ?? s.bundle,
      annotations: s.annotations,
      created: s.created,
    };
  }

  async kill(id: string, signal: string | number = 'SIGTERM'): Promise<void> {
    await this.runc(['kill', id, String(signal)], id);
  }

  async delete(id: string, opts: DeleteOptions = {}): Promise<void> {
    try {
      await this.runc(['delete', ...(opts.force ? ['--force'] : []), id], id);
    } finally {
      // Also when runc no longer knows the id: the shadow bundle is ours to remove either way.
      if (!fs.existsSync(path.join(this.root, id))) fs.rmSync(this.shadowDir(id), { recursive: true, force: true });
    }
  }

  async run(id: string, bundle: string, opts: CreateOptions & { readonly detach?: boolean } = {}): Promise<ExitStatus | State> {
    if (opts.detach) {
      await this.create(id, bundle, opts);
      await this.start(id);
      return this.state(id);
    }
    const shadow = writeShadowBundle(this.shadowDir(id), id, bundle);
    const io = openStdio(opts.stdio);
    try {
      // --keep: the cgroup must outlive the exit long enough to read the OOM counter.
      const result = await runRunc(this.root, ['run', '--keep', ...this.createArgs(id, shadow.dir, opts)], io.stdio);
      const oomKilled = createCgroupManager(id, shadow.spec.linux?.cgroupsPath).oomKilled();
      await runRunc(this.root, ['delete', '--force', id]);
      return exitStatusOf(result, oomKilled);
    } finally {
      io.close();
      fs.rmSync(shadow.dir, { recursive: true, force: true });
    }
  }

  async exec(id: string, proc: ExecProcess, stdio?: Stdio): Promise<ExecHandle> {
    const args = ['exec'];
    for (const e of proc.env ?? []) args.push('--env', e);
    if (proc.cwd) args.push('--cwd', proc.cwd);
    if (proc.user) args.push('--user', `${proc.user.uid}:${proc.user.gid}`);
    for (const g of proc.user?.additionalGids ?? []) args.push('--additional-gids', String(g));
    if (proc.noNewPrivileges) args.push('--no-new-privs');
    args.push(id, ...proc.args);
    const io = openStdio(stdio);
    let child: ChildProcess;
    try {
      child = spawn(RUNC_BINARY, ['--root', this.root, ...args], { stdio: io.stdio });
    } finally {
      io.close();
    }
    const exited = new Promise<ExitStatus>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(exitStatusOf({ code, signal, stdout: '', stderr: '' }, false)));
    });
    return { pid: child.pid!, wait: () => exited };
  }

  async list(): Promise<State[]> {
    const out = await runcOk(this.root, ['list', '--format', 'json']);
    const items = (JSON.parse(out || 'null') as RuncState[] | null) ?? [];
    const states = await Promise.allSettled(items.map((s) => this.state(s.id)));
    return states.flatMap((r) => {
      if (r.status === 'fulfilled') return [r.value];
      // Deleted between `runc list` and `runc state`: no longer there to list.
      if (r.reason instanceof ContainerNotFoundError) return [];
      throw r.reason;
    });
  }

  async wait(id: string): Promise<ExitStatus> {
    let pid: number;
    let cgroupsPath: string | undefined;
    try {
      pid = Number(fs.readFileSync(this.pidFile(id), 'utf8'));
      cgroupsPath = (JSON.parse(fs.readFileSync(path.join(this.shadowDir(id), 'config.json'), 'utf8')) as RuntimeSpec).linux?.cgroupsPath;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ContainerNotFoundError(id);
      throw err;
    }
    await untilExited(pid);
    return { exitCode: -1, ...(createCgroupManager(id, cgroupsPath).oomKilled() ? { oomKilled: true } : {}) };
  }
}
