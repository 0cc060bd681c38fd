/**
 * COPY/ADD as Docker does them: a directory source copies its contents, a file lands at the
 * destination path (or inside it when the destination ends in `/`), several sources need a
 * directory destination. The layer is a tar written straight from the sources; its cache key
 * is a hash of destination paths, modes, owners and file contents.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import * as tar from 'tar-stream';
import { createGunzip } from 'zlib';
import { safeEntryPath } from '../unpack';
import { ContextEntry, DockerIgnore, matchSources, walkSource } from './context';

export interface CopyItem {
  readonly src: ContextEntry;
  /** Destination path inside the rootfs, relative (no leading slash). */
  readonly dest: string;
  /** ADD of a local tar archive: its entries are unpacked below `dest`. */
  readonly archive?: boolean;
}

export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

export interface CopyPlan {
  readonly items: readonly CopyItem[];
  /** Directories to create above the destination, top first. */
  readonly parents: readonly string[];
}

/** True for a plain or gzip-compressed tar file (what ADD unpacks). */
function isTarArchive(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const n = fs.readSync(fd, head, 0, 512, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    return n >= 262 && head.toString('latin1', 257, 262) === 'ustar';
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * `dest` is absolute inside the container (WORKDIR already applied). With `extractArchives` (ADD),
 * a source file that is a tar archive is unpacked into the destination directory.
 */
export function planCopy(root: string, sources: readonly string[], dest: string, ignore?: DockerIgnore, extractArchives = false): CopyPlan {
  const matched = sources.flatMap((s) => matchSources(root, s, ignore));
  const destRel = path.posix.normalize(dest).replace(/^\/+/, '').replace(/\/+$/, '');
  const intoDir = dest.endsWith('/') || dest.endsWith('/.') || matched.length > 1;
  if (matched.length > 1 && !(dest.endsWith('/') || dest.endsWith('/.'))) {
    throw new Error(`COPY with more than one source needs a directory destination ending in "/", got "${dest}"`);
  }
  const items: CopyItem[] = [];
  for (const rel of matched) {
    const entries = walkSource(root, rel, ignore);
    const top = entries[0];
    if (extractArchives && top.stat.isFile() && isTarArchive(top.abs)) {
      items.push({ src: top, dest: destRel, archive: true });
      continue;
    }
    const base = top.stat.isDirectory() ? destRel : intoDir ? path.posix.join(destRel, path.posix.basename(rel)) : destRel;
    for (const e of entries) {
      if (e.rel === '' && top.stat.isDirectory()) {
        if (destRel !== '') items.push({ src: e, dest: destRel });
        continue;
      }
      items.push({ src: e, dest: e.rel === '' ? base : path.posix.join(base, e.rel) });
    }
  }
  const parents: string[] = [];
  const first = items[0]?.dest ?? destRel;
  const parts = first.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) parents.push(parts.slice(0, i).join('/'));
  return { items, parents };
}

/** A hash of everything the layer would contain: the cache key input of a COPY. */
export async function hashPlan(plan: CopyPlan, owner?: Owner): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ parents: plan.parents, owner }));
  for (const { src, dest, archive } of plan.items) {
    h.update(`\0${archive ? 'archive:' : ''}${dest}\0${src.stat.mode}\0${owner ? '' : `${src.stat.uid}:${src.stat.gid}`}\0`);
    if (src.stat.isSymbolicLink()) h.update(fs.readlinkSync(src.abs));
    else if (src.stat.isFile()) {
      for await (const chunk of fs.createReadStream(src.abs, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
    }
  }
  return 'sha256:' + h.digest('hex');
}

/** Streams the plan as a layer tar. */
export function packPlan(plan: CopyPlan, owner?: Owner): Readable {
  const pack = tar.pack();
  // entries without content (directories, symlinks) are complete once added
  const add = (header: Parameters<typeof pack.entry>[0]) =>
    new Promise<void>((resolve, reject) => pack.entry(header, Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
  const fill = async () => {
    for (const p of plan.parents) await add({ name: `${p}/`, type: 'directory', mode: 0o755, mtime: new Date(0) });
    for (const { src, dest, archive } of plan.items) {
      if (archive) {
        await repackArchive(src.abs, dest, pack, owner);
        continue;
      }
      const common = { name: dest, mode: src.stat.mode & 0o7777, uid: owner?.uid ?? src.stat.uid, gid: owner?.gid ?? src.stat.gid, mtime: src.stat.mtime };
      if (src.stat.isDirectory()) await add({ ...common, name: `${dest}/`, type: 'directory' });
      else if (src.stat.isSymbolicLink()) await add({ ...common, type: 'symlink', linkname: fs.readlinkSync(src.abs) });
      else if (src.stat.isFile()) {
        const sink = pack.entry({ ...common, type: 'file', size: src.stat.size });
        await pipeline(fs.createReadStream(src.abs, { highWaterMark: 1 << 20 }), sink as unknown as NodeJS.WritableStream);
      } else throw new Error(`COPY: "${src.abs}" is not a file, directory or symlink`);
    }
    pack.finalize();
  };
  fill().catch((err) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}

/** Copies an archive's entries into `pack` below `dest`, refusing entries that would climb out of it. */
async function repackArchive(file: string, dest: string, pack: tar.Pack, owner?: Owner): Promise<void> {
  const extract = tar.extract();
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 2, 0);
  fs.closeSync(fd);
  const source = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const stages: NodeJS.ReadWriteStream[] = head[0] === 0x1f && head[1] === 0x8b ? [createGunzip()] : [];
  const feeding = pipeline([source, ...stages, extract] as unknown as [Readable, NodeJS.WritableStream]);
  feeding.catch(() => undefined);
  for await (const entry of extract) {
    const h = entry.header;
    const rel = safeEntryPath(h.name);
    const name = rel === '' ? dest : path.posix.join(dest, rel);
    if (name === '') {
      entry.resume();
      continue;
    }
    const header = {
      ...h, name: h.type === 'directory' ? `${name}/` : name, uid: owner?.uid ?? h.uid, gid: owner?.gid ?? h.gid,
      ...(h.type === 'link' ? { linkname: path.posix.join(dest, safeEntryPath(h.linkname)) } : {}),
    };
    delete (header as { pax?: unknown }).pax;
    const sink = pack.entry(header);
    await pipeline(entry as unknown as Readable, sink as unknown as NodeJS.WritableStream);
  }
  await feeding;
}
