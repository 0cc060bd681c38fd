import type { LinuxResources } from '../spec/oci';

/** What the runtime and the agent's metrics read from a container's cgroup. */
export interface CgroupStats {
  /** Total CPU time of the cgroup's processes, nanoseconds. */
  readonly cpuUsageNs: number;
  /** Current memory usage, bytes. */
  readonly memoryUsage: number;
  /** Peak memory usage, bytes (undefined where the kernel does not keep it). */
  readonly memoryMaxUsage?: number;
  /** Memory limit in bytes; undefined = unlimited. */
  readonly memoryLimit?: number;
  /** Processes the kernel's OOM killer killed in this cgroup because of its memory limit. */
  readonly oomKillCount: number;
  /** Processes (tasks) in the cgroup now. */
  readonly pidsCurrent: number;
  /** Pids limit; undefined = unlimited. */
  readonly pidsLimit?: number;
}

/**
 * One container's cgroup, always below the `berth` parent. Synchronous where the kernel answers at once (a few
 * small files); asynchronous where it must be waited for (freezing, emptying) and on the start path (creating the
 * directories takes the kernel's cgroup lock, which other containers' starts hold meanwhile).
 */
export interface CgroupManager {
  readonly version: 1 | 2;
  /** Path relative to the cgroup root(s), e.g. `berth/web-1`. */
  readonly path: string;
  /** Absolute directories of this cgroup: one per v1 hierarchy, one on v2. */
  readonly directories: readonly string[];
  /** The `cgroup.procs` files a process must be written to to join this cgroup (for the C side and exec). */
  readonly procsFiles: readonly string[];

  /** Creates the directories (and the `berth` parent). Existing directories are kept (re-adoption). */
  create(): Promise<void>;
  /** Writes the limits. Rejects with a `CgroupError` naming the file and value the kernel refused. */
  setResources(resources: LinuxResources): Promise<void>;
  /** Moves process `pid` (with its threads) into the cgroup. */
  apply(pid: number): void;
  /** Pids of the processes in the cgroup (empty when it does not exist). */
  pids(): number[];
  stats(): CgroupStats;
  /** True once the memory limit has OOM-killed a process of this cgroup. */
  oomKilled(): boolean;
  /** Freezes every process; settles once the kernel reports the cgroup frozen. */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Sends `signal` to every process in the cgroup (frozen meanwhile, so none forks away). */
  killAll(signal?: NodeJS.Signals | number): Promise<void>;
  /**
   * Waits (up to `timeoutMs`, default 2000) until no process is left, then removes the cgroup.
   * Throws `CgroupError` listing the remaining pids otherwise. A cgroup that is already gone is fine.
   */
  destroy(opts?: { readonly timeoutMs?: number }): Promise<void>;
}

export class CgroupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CgroupError';
  }
}
