/**
 * The seam to native/: the only runtime module that imports ffi-rs. Everything else depends on the
 * `NativeRuntime` interface (tests can substitute a recording fake).
 *
 * native/build/libberth.so spawns the static native/build/berth-shim with posix_spawn; the container's set-up
 * happens in the shim. The enumerated sync messages of native/src/sync.h are exchanged over the returned socket.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as FfiRs from 'ffi-rs';

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
  /** Starts `berth-shim create configPath`; resolves with the agent's end of the sync socket (a SOCK_STREAM fd
   *  the caller owns, to be watched on the event loop: see berth/sync-channel.ts). */
  spawnShim(configPath: string, stdio: NativeStdio): Promise<number>;
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
export function nativeBuildDir(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'native', 'Makefile'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`native/Makefile not found above ${__dirname}`);
    dir = up;
  }
  return path.join(dir, 'native', 'build');
}

class FfiNativeRuntime implements NativeRuntime {
  readonly shimPath: string;
  /** Required here, not at the top: loading the addon costs ~25 ms that `state`, `list` or `kill` do not need. */
  private readonly ffi: typeof FfiRs = require('ffi-rs');

  constructor(buildDir: string) {
    const lib = path.join(buildDir, 'libberth.so');
    this.shimPath = path.join(buildDir, 'berth-shim');
    for (const f of [lib, this.shimPath]) {
      if (!fs.existsSync(f)) throw new Error(`${f} is missing: build it with \`make -C native\` (npm run build does)`);
    }
    this.ffi.open({ library: LIBRARY, path: lib });
  }

  /**
   * Calls a C function taking (..., char *err, int errlen) on a thread of its own (posix_spawn blocks its caller
   * until the child has exec'd, and the shim's first process until it has forked: milliseconds under load that
   * the event loop need not wait); rejects with a NativeError when it returns < 0.
   */
  private async checked(funcName: string, paramsType: FfiRs.DataType[], paramsValue: unknown[]): Promise<number> {
    const { DataType } = this.ffi;
    const err = Buffer.alloc(ERRLEN);
    const ret = (await this.ffi.load({
      library: LIBRARY,
      funcName,
      retType: DataType.I32,
      paramsType: [...paramsType, DataType.U8Array, DataType.I32],
      paramsValue: [...paramsValue, err, ERRLEN],
      runInNewThread: true,
    })) as number;
    if (ret >= 0) return ret;
    const end = err.indexOf(0);
    throw new NativeError(err.toString('utf8', 0, end < 0 ? ERRLEN : end), -ret);
  }

  spawnShim(configPath: string, stdio: NativeStdio): Promise<number> {
    const { DataType } = this.ffi;
    return this.checked(
      'berth_create',
      [DataType.String, DataType.String, DataType.I32, DataType.I32, DataType.I32],
      [this.shimPath, configPath, stdio.stdin, stdio.stdout, stdio.stderr],
    );
  }
}

let shared: NativeRuntime | undefined;

/** The process-wide native binding (the library is opened once). */
export function loadNative(): NativeRuntime {
  shared ??= new FfiNativeRuntime(nativeBuildDir());
  return shared;
}
