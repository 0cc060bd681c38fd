/**
 * A small JSON state file (tokens, key ring, issued certificates) that several processes share: the server reads it,
 * `berth token ...` / `berth secrets ...` write it. Writes are atomic renames with mode 0600; reads re-parse the
 * file whenever its identity (mtime, inode, size) changed, so another process's write is seen on the next use at the
 * cost of one stat — or, with `recheckMs`, on the first use after at most that long (one stat per period, for a
 * file read on every request).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSecretFile } from './pki';

const LOCK_TIMEOUT_MS = 5000;
const LOCK_POLL_MS = 2;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/** Whether the process named in `lock` has exited (a holder that crashed must not block everyone forever). */
const holderGone = (lock: string): boolean => {
  const pid = Number(fs.readFileSync(lock, { encoding: 'utf8', flag: 'r' }).trim());
  if (!Number.isInteger(pid) || pid <= 0) return false; // being written right now
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
};

/**
 * Runs `fn` holding `lock` (created O_EXCL with our pid; removed after). Synchronous, like the file operations it
 * guards: holders keep it for well under a millisecond, so waiting polls every 2 ms, for at most 5 s.
 */
const withFileLock = <R>(lock: string, fn: () => R): R => {
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create lock ${lock}`, { cause: err });
    }
    try {
      if (holderGone(lock)) fs.rmSync(lock, { force: true });
    } catch {
      // released meanwhile: try again
    }
    if (Date.now() > deadline) throw new Error(`lock ${lock} still held after ${LOCK_TIMEOUT_MS} ms (remove it if no berth process runs)`);
    Atomics.wait(sleepCell, 0, 0, LOCK_POLL_MS);
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
};

export class SharedJsonFile<T> {
  private value!: T;
  private loadedVersion = '';
  /** When the file's identity was last checked (performance.now()). */
  private checkedAt = -Infinity;

  /**
   * Creates `file` with `initial()` if it does not exist. `validate` checks what was read and throws (with the
   * file name) if it cannot be used.
   */
  constructor(
    readonly file: string,
    initial: () => T,
    private readonly validate: (value: T) => void = () => undefined,
    private readonly recheckMs = 0,
  ) {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      this.write(initial());
    }
    this.read();
  }

  /** The current content (re-read if another process replaced the file). */
  read(): T {
    if (this.recheckMs > 0) {
      const now = performance.now();
      if (now - this.checkedAt < this.recheckMs) return this.value;
      this.checkedAt = now;
    }
    const stat = fs.statSync(this.file);
    const version = `${stat.mtimeMs}:${stat.ino}:${stat.size}`;
    if (version !== this.loadedVersion) {
      let parsed: T;
      try {
        parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as T;
      } catch (err) {
        throw new Error(`${this.file} is not valid JSON`, { cause: err });
      }
      this.validate(parsed);
      this.value = parsed;
      this.loadedVersion = version;
    }
    return this.value;
  }

  /** Replaces the content atomically (mode 0600). */
  write(value: T): void {
    writeSecretFile(this.file, JSON.stringify(value, null, 2) + '\n');
    this.loadedVersion = '';
    this.checkedAt = -Infinity;
  }

  /**
   * Read-modify-write of the current content, holding FILE.lock: several processes (API server workers, the CLI)
   * change these files, and without the lock one's change could replace another's made in between.
   */
  update(change: (current: T) => T): T {
    return withFileLock(`${this.file}.lock`, () => {
      this.checkedAt = -Infinity; // never change a stale copy
      const next = change(this.read());
      this.write(next);
      return next;
    });
  }
}
