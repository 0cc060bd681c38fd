/**
 * One container's state directory, `<root>/<id>/`:
 *   state.json   what `state` reports plus what re-adoption needs (init pid and its start time)
 *   spec.json    the validated config (exec takes its restrictions from it; the bundle may be gone)
 *   config.bin   the shim's serialized configuration (the seccomp program lives in the shared cache, seccomp-cache.ts)
 *   exec.fifo    exists while the container is `created`; `start` writes one byte to it
 *   exit         "<exit code> <signal>" written (atomically) by the shim when the init exits
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RuntimeSpec } from '../spec';
import { writeFile } from '../small-files';

export interface StoredState {
  readonly ociVersion: string;
  readonly id: string;
  readonly pid: number;
  /** /proc/<pid>/stat start time: tells our init from a recycled pid after an agent restart. */
  readonly startTime: string;
  readonly bundle: string;
  readonly created: string;
  readonly annotations?: Record<string, string>;
  readonly cgroupsPath?: string;
  /** The compiled seccomp program the init installed (exec installs the same). */
  readonly seccompFile?: string;
  /** The shim supervising the init (so that delete need not search /proc for it). */
  readonly shim?: { readonly pid: number; readonly startTime: string };
}

export interface RecordedExit {
  readonly exitCode: number;
  readonly signal: number;
}

export const DEFAULT_STATE_ROOT = '/run/berth/runtime';

export class StateDir {
  constructor(readonly dir: string) {}

  static of(root: string, id: string): StateDir {
    return new StateDir(path.join(root, id));
  }

  file(name: 'state.json' | 'spec.json' | 'config.bin' | 'exec.fifo' | 'exit'): string {
    return path.join(this.dir, name);
  }

  exists(): boolean {
    return fs.existsSync(this.dir);
  }

  /** Creates the directory; false if it already exists (the id is taken). */
  async claim(): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await fs.promises.mkdir(this.dir, { mode: 0o700 });
        return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') return false;
        if (code !== 'ENOENT' || attempt > 1) throw err;
      }
      // The root's first container.
      await fs.promises.mkdir(path.dirname(this.dir), { recursive: true, mode: 0o711 });
    }
  }

  readState(): StoredState | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.file('state.json'), 'utf8')) as StoredState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async writeState(state: StoredState): Promise<void> {
    const tmp = `${this.file('state.json')}.tmp`;
    await writeFile(tmp, JSON.stringify(state));
    await fs.promises.rename(tmp, this.file('state.json'));
  }

  readSpec(): RuntimeSpec {
    return JSON.parse(fs.readFileSync(this.file('spec.json'), 'utf8')) as RuntimeSpec;
  }

  readExit(): RecordedExit | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.file('exit'), 'utf8');
    } catch {
      return undefined;
    }
    const [code, signal] = text.trim().split(' ').map(Number);
    return { exitCode: code, signal: signal ?? 0 };
  }

  isWaitingForStart(): boolean {
    return fs.existsSync(this.file('exec.fifo'));
  }

  /** Retried on ENOTEMPTY: a shim whose exec was still pending when delete searched for it (its creator died mid-
   *  spawn) may add its fifo meanwhile. Once the directory is gone it can write nothing (it works through an fd of
   *  the deleted directory) and exits on its own. */
  remove(): Promise<void> {
    return fs.promises.rm(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
  }
}
