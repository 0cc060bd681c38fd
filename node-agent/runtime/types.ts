/**
 * The container runtime contract. The node agent, the CLI (`berth runtime ...`) and the benchmark all code
 * against `ContainerRuntime`; Berth's own runtime (node-agent/runtime/berth) and the runc backend implement it.
 * Semantics follow the OCI runtime spec (runtime.md "Lifecycle" and "Operations") and runc's behaviour.
 */

/** OCI container status. `creating` only while `create` runs; `stopped` once the init process has exited. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped';

/** The OCI runtime-spec state (`runc state` prints this shape). */
export interface State {
  readonly ociVersion: string;
  readonly id: string;
  readonly status: ContainerStatus;
  /** Host pid of the container's init process; absent (or 0) once stopped. */
  readonly pid?: number;
  /** Absolute path of the bundle directory. */
  readonly bundle: string;
  readonly annotations?: Readonly<Record<string, string>>;
  /** ISO-8601 creation time (runc prints it too). */
  readonly created?: string;
}

/** How a container's (or an exec'd process's) stdio is wired. */
export interface Stdio {
  /** An open fd of the caller (duplicated into the container), a file path (opened: stdin read-only,
   *  stdout/stderr append+create), 'null' for /dev/null (the default), or — for `exec` only — 'pipe'
   *  (the handle then carries the stream). */
  readonly stdin?: number | string;
  readonly stdout?: number | string;
  readonly stderr?: number | string;
}

/** The container's log, written by the runtime's own per-container process (so it outlives the agent). */
export interface LogOptions {
  /** CRI log lines (node-agent/logs/format.ts) are appended here; rotated to `<path>.1 … <path>.<maxFiles>`. */
  readonly path: string;
  /** Rotate once the current file would pass this size; default 10 MiB. */
  readonly maxBytes?: number;
  /** Rotated files kept besides the current one; default 3. */
  readonly maxFiles?: number;
  /** A longer line is split into partial (P) records; default and most 16 KiB. */
  readonly maxLineBytes?: number;
}

export interface CreateOptions {
  /** With `log`, stdout and stderr go to the log and only `stdin` is taken from here. */
  readonly stdio?: Stdio;
  readonly log?: LogOptions;
  /** Write the init's host pid here (runc `--pid-file`). */
  readonly pidFile?: string;
  /** Run a minimal init as pid 1 that forwards signals and reaps zombies (docker `--init`). */
  readonly init?: boolean;
}

export interface DeleteOptions {
  /** Kill (SIGKILL) a container that is still running or created, then delete it. */
  readonly force?: boolean;
}

/** How the init (or an exec'd process) ended. */
export interface ExitStatus {
  /** The exit code, or 128 + signal number when killed by a signal (shell convention). */
  readonly exitCode: number;
  /** Signal name (e.g. 'SIGKILL') when the process was killed by a signal. */
  readonly signal?: string;
  /** True when the cgroup's memory limit OOM-killed a process of the container. */
  readonly oomKilled?: boolean;
}

/** The `process` part of an exec: same shape as the OCI `process` object, everything optional except args.
 *  Unset fields are taken from the container's config.json process (user, caps, env, cwd, noNewPrivileges). */
export interface ExecProcess {
  readonly args: readonly string[];
  readonly env?: readonly string[];
  readonly cwd?: string;
  readonly user?: { readonly uid: number; readonly gid: number; readonly additionalGids?: readonly number[] };
  /** Defaults to the container's own process.noNewPrivileges. */
  readonly noNewPrivileges?: boolean;
  /** Give the process a pseudo-terminal (from the container's devpts) relayed to the given stdin/stdout. */
  readonly terminal?: boolean;
  readonly consoleSize?: { readonly height: number; readonly width: number };
}

/** A process started by `exec`; `wait()` settles when it exits. */
export interface ExecHandle {
  /** Host pid of the exec'd process' supervisor (signals sent to it are forwarded to the process). */
  readonly pid: number;
  /** Present for the stdio streams requested as 'pipe'. */
  readonly stdin?: NodeJS.WritableStream;
  readonly stdout?: NodeJS.ReadableStream;
  readonly stderr?: NodeJS.ReadableStream;
  /** Present for a process with a terminal: sets the pty's window size (the process gets SIGWINCH). */
  resize?(size: { readonly width: number; readonly height: number }): void;
  wait(): Promise<ExitStatus>;
}

export interface ContainerRuntime {
  /** Short backend name: 'berth' or 'runc'. */
  readonly name: string;

  /**
   * Creates container `id` from the OCI bundle at `bundle` (config.json + rootfs): namespaces, mounts, cgroup
   * (always under the `berth` parent), everything up to — not including — executing the user process.
   * Rejects (SpecError naming the field) for a malformed config.json before anything is created, and on any
   * failure leaves nothing behind. Rejects if `id` already exists. Resolves with the `created` state.
   */
  create(id: string, bundle: string, opts?: CreateOptions): Promise<State>;

  /** Executes the user process of a `created` container. Rejects unless the status is `created`. */
  start(id: string): Promise<void>;

  /** The current state. Rejects with a not-found error for an unknown id. */
  state(id: string): Promise<State>;

  /** Sends `signal` (name like 'SIGTERM'/'TERM' or number) to the init. Rejects unless created or running. */
  kill(id: string, signal?: string | number): Promise<void>;

  /**
   * Removes the container's cgroup and state. Rejects for a running/created container unless `force`
   * (which kills it first and waits for it). Deleting an unknown id rejects with a not-found error.
   */
  delete(id: string, opts?: DeleteOptions): Promise<void>;

  /** create + start. With `detach` false (the default) it also waits for exit and deletes the container. */
  run(id: string, bundle: string, opts?: CreateOptions & { readonly detach?: boolean }): Promise<ExitStatus | State>;

  /** Runs an extra process inside a running container: its namespaces, its cgroup, its caps, seccomp and user. */
  exec(id: string, process: ExecProcess, stdio?: Stdio): Promise<ExecHandle>;

  /** All containers this runtime knows (its state directory), in any status. */
  list(): Promise<State[]>;

  /** Settles once the init has exited (immediately if already stopped). Works for containers created by an
   *  earlier agent process too (re-adoption). Does not delete anything. */
  wait(id: string): Promise<ExitStatus>;
}

/** Thrown for an unknown container id (runc: "container does not exist"). */
export class ContainerNotFoundError extends Error {
  constructor(readonly id: string) {
    super(`container ${id} does not exist`);
    this.name = 'ContainerNotFoundError';
  }
}

/** Thrown when an operation is not allowed in the container's current status (e.g. start on a running one). */
export class ContainerStateError extends Error {
  constructor(readonly id: string, readonly status: ContainerStatus, operation: string) {
    super(`cannot ${operation} container ${id} in status ${status}`);
    this.name = 'ContainerStateError';
  }
}

/** Guards for the status state machine (youki `ContainerStatus::can_*`). */
export const canStart = (s: ContainerStatus): boolean => s === 'created';
export const canKill = (s: ContainerStatus): boolean => s === 'created' || s === 'running';
export const canDelete = (s: ContainerStatus): boolean => s === 'stopped';
