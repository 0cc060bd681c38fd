/** What the v1 and v2 managers share: membership, signalling and removal, over their own files. */
import type { LinuxResources } from '../spec/oci';
import { readPids, removeDir, signalAll, waitFor, writeValue } from './files';
import { CgroupError, type CgroupManager, type CgroupStats } from './types';

export abstract class BaseCgroupManager implements CgroupManager {
  abstract readonly version: 1 | 2;
  abstract readonly directories: readonly string[];

  constructor(readonly path: string) {}

  get procsFiles(): readonly string[] {
    return this.directories.map((d) => `${d}/cgroup.procs`);
  }

  abstract create(): Promise<void>;
  abstract setResources(resources: LinuxResources): Promise<void>;
  abstract stats(): CgroupStats;
  abstract oomKilled(): boolean;
  abstract freeze(): Promise<void>;
  abstract thaw(): Promise<void>;
  /** Whether freeze() works here (v1 needs the freezer hierarchy). */
  protected abstract canFreeze(): boolean;

  apply(pid: number): void {
    for (const file of this.procsFiles) writeValue(file, pid);
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const file of this.procsFiles) for (const pid of readPids(file)) all.add(pid);
    return [...all];
  }

  async killAll(signal: NodeJS.Signals | number = 'SIGKILL'): Promise<void> {
    if (!this.canFreeze()) {
      signalAll(this.pids(), signal);
      return;
    }
    // Frozen processes cannot fork, so the list read below is complete. A freeze that does not settle in time (a
    // process stuck in the kernel on a loaded host) has still stopped most of them: signal what is there, and thaw
    // in any case — a v1 cgroup left frozen keeps its SIGKILLed processes alive for good. What escapes shows in
    // destroy(), which names the pids left.
    await this.freeze().catch(() => undefined);
    try {
      signalAll(this.pids(), signal);
    } finally {
      await this.thaw();
    }
  }

  async destroy(opts: { readonly timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 2000;
    const empty = await waitFor(() => this.pids().length === 0, timeoutMs);
    if (!empty) {
      const left = this.pids();
      throw new CgroupError(`cgroup ${this.path} still has ${left.length} process(es) (pids ${left.slice(0, 10).join(', ')}) after ${timeoutMs} ms; kill them first`);
    }
    // Exited processes can keep a cgroup busy for a moment until their parent reaps them.
    let lastError: unknown;
    const removed = await waitFor(() => {
      try {
        for (const dir of this.directories) removeDir(dir);
        return true;
      } catch (err) {
        lastError = err;
        return false;
      }
    }, timeoutMs);
    if (!removed) throw new CgroupError(`cannot remove cgroup ${this.path}`, { cause: lastError });
  }
}
