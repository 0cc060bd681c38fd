/**
 * The seam to native/: the only runtime module that imports ffi-rs. Everything else depends on the
 * `NativeRuntime` interface (tests can substitute a recording fake).
 *
 * native/build/libberth.so spawns the static native/build/berth-shim with posix_spawn and exchanges the
 * enumerated sync messages of native/src/sync.h with the shim and the container init.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataType, load, open } from 'ffi-rs';

/** native/src/sync.h `enum berth_sync_type`. */
export const SyncMessage = { PIDS: 1, MAPS_DONE: 2, CGROUP_DONE: 3, READY: 4, ERROR: 5 } as const;
export type SyncMessage = (typeof SyncMessage)[keyof typeof SyncMessage];

/** Fds for the shim's (and so the container's) stdio; -1 means /dev/null. */
export interface NativeStdio {
  readonly stdin: number;
  readonly stdout: number;
  readonly stderr: number;
}

export interface NativeRuntime {
  /** Path of the berth-shim executable (`exec` is spawned by the caller with it). */
  readonly shimPath: string;
  /** Starts `berth-shim create configPath`; returns the agent's end of the sync socket. */
  spawnShim(configPath: string, stdio: NativeStdio): number;
  /** Waits (on a native thread, not the event loop) for message `type`; resolves with its value. Rejects with
   *  NativeError carrying the child's message on SYNC_ERROR, EOF or timeout. */
  syncExpect(fd: number, type: SyncMessage, timeoutMs: number): Promise<number>;
  syncSend(fd: number, type: SyncMessage): void;
  close(fd: number): void;
}

/** A failure reported by native code: `errno` is the C side's errno, the message names the step and object. */
export class NativeError extends Error {
  constructor(message: string, readonly errno: number) {
    super(message);
    this.name = 'NativeError';
  }
}

const LIBRARY = 'berth';
const ERRLEN = 512;

/** native/ relative to this file, whether running from the sources (ts-jest) or from dist/. */
function nativeBuildDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'native', 'Makefile'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`native/Makefile not found above ${__dirname}`);
    dir = up;
  }
  return path.join(dir, 'native', 'build');
}

function check(ret: number, err: Buffer): number {
  if (ret >= 0) return ret;
  const end = err.indexOf(0);
  throw new NativeError(err.toString('utf8', 0, end < 0 ? err.length : end), -ret);
}

class FfiNativeRuntime implements NativeRuntime {
  readonly shimPath: string;

  constructor(buildDir: string) {
    const lib = path.join(buildDir, 'libberth.so');
    this.shimPath = path.join(buildDir, 'berth-shim');
    for (const f of [lib, this.shimPath]) {
      if (!fs.existsSync(f)) throw new Error(`${f} is missing: build it with \`make -C native\` (npm run build does)`);
    }
    open({ library: LIBRARY, path: lib });
  }

  private call(funcName: string, paramsType: DataType[], paramsValue: unknown[]): number {
    return load({ library: LIBRARY, funcName, retType: DataType.I32, paramsType, paramsValue }) as number;
  }

  /** Calls a C function taking (..., char *err, int errlen); throws NativeError when it returns < 0. */
  private checked(funcName: string, paramsType: DataType[], paramsValue: unknown[]): number {
    const err = Buffer.alloc(ERRLEN);
    return check(this.call(funcName, [...paramsType, DataType.U8Array, DataType.I32], [...paramsValue, err, ERRLEN]), err);
  }

  /** `checked` on a fresh native thread (ffi-rs runInNewThread): for calls that block. */
  private async checkedAsync(funcName: string, paramsType: DataType[], paramsValue: unknown[]): Promise<number> {
    const err = Buffer.alloc(ERRLEN);
    const ret = (await load({
      library: LIBRARY,
      funcName,
      retType: DataType.I32,
      paramsType: [...paramsType, DataType.U8Array, DataType.I32],
      paramsValue: [...paramsValue, err, ERRLEN],
      runInNewThread: true,
    })) as number;
    return check(ret, err);
  }

  spawnShim(configPath: string, stdio: NativeStdio): number {
    return this.checked(
      'berth_create',
      [DataType.String, DataType.String, DataType.I32, DataType.I32, DataType.I32],
      [this.shimPath, configPath, stdio.stdin, stdio.stdout, stdio.stderr],
    );
  }

  syncExpect(fd: number, type: SyncMessage, timeoutMs: number): Promise<number> {
    return this.checkedAsync('berth_sync_expect', [DataType.I32, DataType.I32, DataType.I32], [fd, type, timeoutMs]);
  }

  syncSend(fd: number, type: SyncMessage): void {
    this.checked('berth_sync_send', [DataType.I32, DataType.I32], [fd, type]);
  }

  close(fd: number): void {
    this.call('berth_close', [DataType.I32], [fd]);
  }
}

let shared: NativeRuntime | undefined;

/** The process-wide native binding (the library is opened once). */
export function loadNative(): NativeRuntime {
  shared ??= new FfiNativeRuntime(nativeBuildDir());
  return shared;
}
