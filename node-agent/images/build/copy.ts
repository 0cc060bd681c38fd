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
import { ContextEntry, DockerIgnore, matchSources, walkSource } from './context';

export interface CopyItem {
  readonly src: ContextEntry;
  /** Destination path inside the rootfs, relative (no leading slash). */
  readonly dest: string;
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

/** `dest` is absolute inside the container (WORKDIR already applied). */
export function planCopy(root: string, sources: readonly string[], dest: string, ignore?: DockerIgnore): CopyPlan {
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
  for (const { src, dest } of plan.items) {
    h.update(`\0${dest}\0${src.stat.mode}\0${owner ? '' : `${src.stat.uid}:${src.stat.gid}`}\0`);
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
    for (const { src, dest } of plan.items) {
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
