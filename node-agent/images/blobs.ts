/**
 * Content-addressable blob storage: `<root>/blobs/sha256/<hex>`. A blob becomes visible only after
 * its bytes are written to a temp file, fsynced, verified against the expected digest and size, and renamed.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { DigestMismatchError, digestHex, SizeMismatchError } from './digest';

export interface BlobInfo {
  readonly digest: string;
  readonly size: number;
}

export interface Expected {
  readonly digest?: string;
  readonly size?: number;
}

export class BlobNotFoundError extends Error {
  constructor(readonly digest: string) {
    super(`blob ${digest} not found in the store`);
    this.name = 'BlobNotFoundError';
  }
}

export class BlobStore {
  readonly dir: string;
  readonly tmpDir: string;
  /** Called for every blob this writer added (not for content that was already there). */
  onCreated?: (digest: string) => void;

  constructor(root: string) {
    this.dir = path.join(root, 'blobs', 'sha256');
    this.tmpDir = path.join(root, 'tmp');
    fs.mkdirSync(this.dir, { recursive: true });
    fs.mkdirSync(this.tmpDir, { recursive: true });
  }

  path(digest: string): string {
    return path.join(this.dir, digestHex(digest));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.path(digest));
  }

  size(digest: string): number {
    try {
      return fs.statSync(this.path(digest)).size;
    } catch (err) {
      throw new BlobNotFoundError(digest);
    }
  }

  read(digest: string): Buffer {
    try {
      return fs.readFileSync(this.path(digest));
    } catch (err) {
      throw new BlobNotFoundError(digest);
    }
  }

  open(digest: string): fs.ReadStream {
    if (!this.has(digest)) throw new BlobNotFoundError(digest);
    return fs.createReadStream(this.path(digest), { highWaterMark: 1 << 20 });
  }

  list(): string[] {
    return fs.readdirSync(this.dir).map((hex) => `sha256:${hex}`);
  }

  remove(digest: string): number {
    const p = this.path(digest);
    try {
      const { size } = fs.statSync(p);
      fs.unlinkSync(p);
      return size;
    } catch {
      return 0;
    }
  }

  /** Stores a buffer; returns its digest. */
  async put(data: Buffer, expected: Expected = {}): Promise<BlobInfo> {
    return this.write(Readable.from([data]), expected);
  }

  /**
   * Streams content into the store, verifying while writing. Aborts as soon as the content exceeds
   * `expected.size` (a manifest that lies about sizes cannot make us write unbounded data).
   * On any failure the temp file is removed and nothing becomes visible.
   */
  async write(source: AsyncIterable<Buffer | Uint8Array>, expected: Expected = {}, onBytes?: (n: number) => void): Promise<BlobInfo> {
    const tmp = path.join(this.tmpDir, `blob-${randomBytes(8).toString('hex')}`);
    const fh = await fs.promises.open(tmp, 'w', 0o644);
    const hash = createHash('sha256');
    let size = 0;
    const what = expected.digest ?? 'blob';
    try {
      for await (const chunk of source) {
        size += chunk.length;
        if (expected.size !== undefined && size > expected.size) throw new SizeMismatchError(expected.size, -1, what);
        hash.update(chunk);
        await fh.write(chunk);
        onBytes?.(chunk.length);
      }
      await fh.sync();
      await fh.close();
      const digest = 'sha256:' + hash.digest('hex');
      if (expected.size !== undefined && size !== expected.size) throw new SizeMismatchError(expected.size, size, what);
      if (expected.digest !== undefined && digest !== expected.digest) throw new DigestMismatchError(expected.digest, digest, what);
      const existed = fs.existsSync(this.path(digest));
      await fs.promises.rename(tmp, this.path(digest));
      if (!existed) this.onCreated?.(digest);
      return { digest, size };
    } catch (err) {
      await fh.close().catch(() => undefined);
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }
}
