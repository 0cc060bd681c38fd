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

  /** Read-modify-write of the current content. */
  update(change: (current: T) => T): T {
    this.checkedAt = -Infinity; // never change a stale copy
    const next = change(this.read());
    this.write(next);
    return next;
  }
}
