/**
 * Unpacks one layer tarball into its own directory in overlayfs form: `.wh.NAME` becomes a 0/0 character
 * device NAME, `.wh..wh..opq` becomes `trusted.overlay.opaque=y` on its directory. Entries that could
 * escape the rootfs (`..`, absolute names, links out of the tree, paths through symlinks) and device nodes
 * are rejected naming the entry. Work happens in a temp directory renamed into place only on success,
 * after the uncompressed digest (the diff ID) has been checked.
 */
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { PassThrough, Readable, Transform } from 'stream';
import { pipeline } from 'stream/promises';
import * as tar from 'tar-stream';
import { createGunzip } from 'zlib';
import { DigestMismatchError } from './digest';
import { lsetxattr, mknod, S_IFCHR, S_IFIFO } from './fsops';
import { Compression } from './media';

export const OPAQUE_XATTR = 'trusted.overlay.opaque';
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

export class UnsafeLayerEntryError extends Error {
  constructor(readonly entry: string, reason: string) {
    super(`layer entry "${entry}" rejected: ${reason}`);
    this.name = 'UnsafeLayerEntryError';
  }
}

export interface UnpackResult {
  /** sha256 of the uncompressed tar stream. */
  readonly diffId: string;
  /** Bytes of regular file content written. */
  readonly size: number;
}

/**
 * Normalizes an archive path to a clean relative POSIX path ('' for the root itself);
 * throws for absolute names and for any `..` that would climb out.
 */
export function safeEntryPath(name: string, what = name): string {
  if (name.startsWith('/')) throw new UnsafeLayerEntryError(what, 'absolute path');
  const norm = path.posix.normalize(name.replace(/\/+$/, '') || '.');
  if (norm === '..' || norm.startsWith('../')) throw new UnsafeLayerEntryError(what, 'path escapes the rootfs ("..")');
  return norm === '.' ? '' : norm;
}

class LayerWriter {
  private readonly symlinks = new Set<string>();
  private readonly dirTimes: Array<[string, Date]> = [];
  size = 0;

  constructor(private readonly root: string) {}

  async apply(header: tar.Header, body: Readable): Promise<void> {
    const name = safeEntryPath(header.name);
    this.checkNoSymlinkAncestor(name, header.name);
    const full = name === '' ? this.root : path.join(this.root, name);
    const base = path.posix.basename(name);
    if (base === OPAQUE_MARKER) {
      const dir = path.dirname(full);
      await fs.promises.mkdir(dir, { recursive: true });
      lsetxattr(dir, OPAQUE_XATTR, Buffer.from('y'));
      return drain(body);
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const target = path.join(path.dirname(full), base.slice(WHITEOUT_PREFIX.length));
      await this.prepareSlot(target, false);
      mknod(target, S_IFCHR | 0o000, 0);
      return drain(body);
    }
    if (name !== '') await this.prepareSlot(full, header.type === 'directory');
    switch (header.type) {
      case 'directory':
        await fs.promises.mkdir(full, { recursive: true });
        if (header.mtime) this.dirTimes.push([full, header.mtime]);
        await drain(body);
        break;
      case 'file':
      case 'contiguous-file':
        await pipeline(body, fs.createWriteStream(full, { mode: 0o600, highWaterMark: 1 << 20 }));
        this.size += header.size ?? 0;
        break;
      case 'symlink':
        this.checkLinkTarget(name, header.linkname ?? '', header.name);
        await fs.promises.symlink(header.linkname ?? '', full);
        this.symlinks.add(name);
        await drain(body);
        await fs.promises.lchown(full, header.uid ?? 0, header.gid ?? 0);
        return;
      case 'link': {
        const target = safeEntryPath(header.linkname ?? '', `${header.name} -> ${header.linkname}`);
        this.checkNoSymlinkAncestor(target, header.name);
        if (target === '') throw new UnsafeLayerEntryError(header.name, 'hard link to the rootfs itself');
        await fs.promises.link(path.join(this.root, target), full).catch((err) => {
          throw new UnsafeLayerEntryError(header.name, `hard link target "${header.linkname}" is not in this layer (${err.code})`);
        });
        await drain(body);
        return;
      }
      case 'fifo':
        mknod(full, S_IFIFO | 0o600, 0);
        await drain(body);
        break;
      case 'character-device':
      case 'block-device':
        throw new UnsafeLayerEntryError(header.name, `device node (${header.devmajor}:${header.devminor}) is not allowed in a layer`);
      default:
        throw new UnsafeLayerEntryError(header.name, `unsupported tar entry type "${header.type}"`);
    }
    await fs.promises.chown(full, header.uid ?? 0, header.gid ?? 0);
    // chmod after chown: chown clears set-uid/set-gid bits.
    await fs.promises.chmod(full, (header.mode ?? 0o644) & 0o7777);
    this.applyXattrs(full, header);
    if (header.type !== 'directory' && header.mtime) await fs.promises.utimes(full, header.mtime, header.mtime);
  }

  /** Directory mtimes last: creating children changes them. */
  async finish(): Promise<void> {
    for (const [dir, mtime] of this.dirTimes.reverse()) await fs.promises.utimes(dir, mtime, mtime);
  }

  /**
   * tar-stream decodes PAX values as UTF-8, so a binary value (a file capability) that is not valid
   * UTF-8 arrives with replacement characters: such a value is left out rather than written corrupted.
   */
  private applyXattrs(full: string, header: tar.Header): void {
    for (const [key, value] of Object.entries((header.pax ?? {}) as Record<string, string>)) {
      if (key.startsWith('SCHILY.xattr.') && !value.includes('\uFFFD')) lsetxattr(full, key.slice('SCHILY.xattr.'.length), Buffer.from(value, 'utf8'));
    }
  }

  /** Clears the way for a new entry: a later entry with the same name replaces the earlier one (a dir stays a dir). */
  private async prepareSlot(full: string, isDir: boolean): Promise<void> {
    await fs.promises.mkdir(path.dirname(full), { recursive: true });
    const st = await fs.promises.lstat(full).catch(() => undefined);
    if (st && !(isDir && st.isDirectory())) await fs.promises.rm(full, { recursive: true, force: true });
  }

  private checkNoSymlinkAncestor(name: string, entry: string): void {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      if (this.symlinks.has(prefix)) throw new UnsafeLayerEntryError(entry, `path goes through symlink "${prefix}"`);
    }
  }

  /** Absolute targets resolve inside the container's root; relative ones must not climb above it. */
  private checkLinkTarget(name: string, target: string, entry: string): void {
    if (target === '') throw new UnsafeLayerEntryError(entry, 'empty symlink target');
    if (target.startsWith('/')) return;
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(name), target));
    if (resolved === '..' || resolved.startsWith('../')) {
      throw new UnsafeLayerEntryError(entry, `symlink target "${target}" points outside the rootfs`);
    }
  }
}

/** Tags tar/gzip stream failures as a truncated or corrupt archive; other errors pass through. */
export function asCorruptArchive(err: unknown, what: string): unknown {
  const message = String((err as Error)?.message);
  if (err instanceof UnsafeLayerEntryError || err instanceof DigestMismatchError) return err;
  if (!/unexpected end|premature close|incorrect header|invalid|truncated/i.test(message)) return err;
  return new Error(`${what} is truncated or corrupt: ${message}`, { cause: err });
}

function drain(body: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    body.on('end', resolve).on('error', reject);
    body.resume();
  });
}

/**
 * Unpacks `source` (a layer blob) into `dest`, which must not exist yet. Rejects with the first
 * unsafe entry, a truncated archive, or a diff-ID mismatch; `dest` then does not exist.
 */
export async function unpackLayer(source: Readable, compression: Compression, dest: string, expectedDiffId?: string): Promise<UnpackResult> {
  const tmp = `${dest}.tmp-${randomBytes(6).toString('hex')}`;
  await fs.promises.mkdir(tmp, { mode: 0o755 });
  const hash = createHash('sha256');
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  const extract = tar.extract();
  const writer = new LayerWriter(tmp);
  const stages: NodeJS.ReadWriteStream[] = compression === 'gzip' ? [createGunzip(), tap] : [tap];
  const feeding = pipeline([source, ...stages, extract] as unknown as [Readable, ...PassThrough[]]);
  // A failing feed (truncated gzip) may leave the current entry's body open forever: race every step against it.
  const feedFailed = new Promise<never>((_resolve, reject) => feeding.catch(reject));
  feedFailed.catch(() => undefined);
  try {
    for await (const entry of extract) await Promise.race([writer.apply(entry.header, entry as unknown as Readable), feedFailed]);
    await feeding;
    await writer.finish();
    const diffId = 'sha256:' + hash.digest('hex');
    if (expectedDiffId !== undefined && diffId !== expectedDiffId) throw new DigestMismatchError(expectedDiffId, diffId, 'uncompressed layer (diff ID)');
    try {
      await fs.promises.rename(tmp, dest);
    } catch (err) {
      // another process unpacked the same layer first: theirs is as good as ours
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      await fs.promises.rm(tmp, { recursive: true, force: true });
    }
    return { diffId, size: writer.size };
  } catch (err) {
    source.destroy();
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw asCorruptArchive(err, 'layer archive');
  }
}
