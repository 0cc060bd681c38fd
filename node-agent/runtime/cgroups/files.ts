/** Small synchronous helpers for cgroupfs files, with errors that name the file and the value. */
import * as fs from 'node:fs';
import { CgroupError } from './types';

export const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function writeValue(file: string, value: string | number): void {
  try {
    fs.writeFileSync(file, String(value));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CgroupError(`write ${JSON.stringify(String(value))} to ${file}: ${code ?? err}`, { cause: err });
  }
}

/** One file and the value to write to it. */
export type CgroupWrite = readonly [file: string, value: string | number];

/**
 * Writes each file in order, synchronously. A limit file takes no cgroup-wide lock (a mkdir or a migration waits
 * for the one that every start takes): ~20 µs a write, less than a trip through the libuv pool, which the mkdirs
 * waiting for that lock may be holding up (bench:e2e (b), alternating runs at load 5: p99 561–1,565 ms this way,
 * 818–1,806 ms through the pool).
 */
export function writeAll(writes: readonly CgroupWrite[]): void {
  for (const [file, value] of writes) writeValue(file, value);
}

/** The file's trimmed content, or undefined when it does not exist. */
export function readValue(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CgroupError(`read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
}

export function readNumber(file: string): number | undefined {
  const v = readValue(file);
  return v === undefined || v === 'max' ? undefined : Number(v);
}

/** `key value` lines (memory.events, memory.oom_control, cpu.stat) → map. */
export function readKeyed(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (readValue(file) ?? '').split('\n')) {
    const [k, v] = line.split(/\s+/);
    if (k && v !== undefined) out.set(k, Number(v));
  }
  return out;
}

export function readPids(procsFile: string): number[] {
  const text = readValue(procsFile);
  return text ? text.split('\n').map(Number) : [];
}

/** mkdir -p off the event loop (a cgroup mkdir takes a kernel-wide lock); an existing directory is kept. */
export async function makeDir(dir: string): Promise<void> {
  try {
    // The parents exist but for a host's first container: one mkdir, not a walk up the path.
    await fs.promises.mkdir(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? fs.promises.mkdir(dir, { recursive: true }) : Promise.reject(err)));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new CgroupError(`mkdir ${dir}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
}

/** rmdir that treats a missing directory as removed. */
export function removeDir(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new CgroupError(`rmdir ${dir}: ${(err as NodeJS.ErrnoException).code ?? err}`, { cause: err });
  }
}

export function signalAll(pids: readonly number[], signal: NodeJS.Signals | number): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch (err) {
      // ESRCH: it exited between listing and signalling.
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw new CgroupError(`kill(${pid}, ${signal})`, { cause: err });
    }
  }
}

/** Polls `isDone` every few ms until true or `timeoutMs` passes; returns the last answer. */
export async function waitFor(isDone: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let pause = 1;
  while (!isDone()) {
    if (Date.now() >= deadline) return false;
    await delay(pause);
    pause = Math.min(pause * 2, 20);
  }
  return true;
}
