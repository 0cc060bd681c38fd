/**
 * The store's small mutable state, one JSON file written atomically (temp + fsync + rename):
 * which manifests are images, and which name:tag points at which manifest.
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export interface ImageRecord {
  readonly created: string;
  /** The index (fat manifest) this image was selected from, kept so `push` can send it back unchanged. */
  readonly indexDigest?: string;
  /** Intermediate image held by the build cache; removed by `prune --all`. */
  readonly buildCache?: boolean;
}

export interface StoreMetadata {
  images: Record<string, ImageRecord>;
  /** Fully qualified `registry/repository:tag` → manifest digest. */
  tags: Record<string, string>;
  /** Build cache key → manifest digest of the image after that step. */
  buildCache: Record<string, string>;
}

const LOCK_TIMEOUT_MS = 10_000;
const STALE_LOCK_MS = 30_000;
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

export class MetadataFile {
  private readonly file: string;

  constructor(root: string) {
    this.file = path.join(root, 'index.json');
  }

  read(): StoreMetadata {
    let parsed: Partial<StoreMetadata> = {};
    try {
      parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as Partial<StoreMetadata>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`reading image store metadata ${this.file}`, { cause: err });
    }
    return { images: parsed.images ?? {}, tags: parsed.tags ?? {}, buildCache: parsed.buildCache ?? {} };
  }

  /**
   * Read-modify-write under a lock file, so the node agent and a CLI sharing the store never lose
   * each other's updates; synchronous, so callers in one process never interleave either.
   */
  update<T>(fn: (m: StoreMetadata) => T): T {
    const release = this.lock();
    try {
      const m = this.read();
      const result = fn(m);
      const tmp = `${this.file}.${randomBytes(4).toString('hex')}`;
      const fd = fs.openSync(tmp, 'w', 0o644);
      try {
        fs.writeSync(fd, JSON.stringify(m, null, 1));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
      return result;
    } finally {
      release();
    }
  }

  private lock(): () => void {
    const lockFile = `${this.file}.lock`;
    const deadline = Date.now() + LOCK_TIMEOUT_MS;
    for (;;) {
      try {
        fs.closeSync(fs.openSync(lockFile, 'wx'));
        return () => fs.rmSync(lockFile, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`locking ${lockFile}`, { cause: err });
      }
      // a holder that died leaves its lock behind; updates take milliseconds, so an old lock is stale
      const age = Date.now() - (fs.statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) fs.rmSync(lockFile, { force: true });
      else if (Date.now() > deadline) throw new Error(`timed out waiting for the image store lock ${lockFile}`);
      else Atomics.wait(SLEEPER, 0, 0, 5);
    }
  }
}
