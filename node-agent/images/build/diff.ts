/**
 * A container's overlayfs upper directory as an OCI layer: changed and added files as they are,
 * deletions (0/0 character devices) as `.wh.NAME`, opaque directories as `.wh..wh..opq`,
 * hard links within the layer as tar links.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Readable } from 'stream';
import { pipeline } from 'stream/promises';
import * as tar from 'tar-stream';
import { hasXattr } from '../fsops';
import { OPAQUE_XATTR } from '../unpack';

export function packUpperDir(upper: string): Readable {
  const pack = tar.pack();
  const links = new Map<string, string>();
  const add = (header: Parameters<typeof pack.entry>[0]) =>
    new Promise<void>((resolve, reject) => pack.entry(header, Buffer.alloc(0), (e) => (e ? reject(e) : resolve())));
  const visit = async (rel: string): Promise<void> => {
    const abs = path.join(upper, rel);
    for (const name of (await fs.promises.readdir(abs)).sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childAbs = path.join(upper, childRel);
      const st = await fs.promises.lstat(childAbs);
      const common = { name: childRel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
      if (st.isCharacterDevice() && st.rdev === 0) {
        await add({ name: rel === '' ? `.wh.${name}` : `${rel}/.wh.${name}`, mode: 0o600, mtime: st.mtime });
      } else if (st.isDirectory()) {
        await add({ ...common, name: `${childRel}/`, type: 'directory' });
        if (hasXattr(childAbs, OPAQUE_XATTR)) await add({ name: `${childRel}/.wh..wh..opq`, mode: 0o600, mtime: st.mtime });
        await visit(childRel);
      } else if (st.isSymbolicLink()) {
        await add({ ...common, type: 'symlink', linkname: await fs.promises.readlink(childAbs) });
      } else if (st.isFile()) {
        const inode = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(inode) : undefined;
        if (first) {
          await add({ ...common, type: 'link', linkname: first });
          continue;
        }
        if (st.nlink > 1) links.set(inode, childRel);
        const sink = pack.entry({ ...common, type: 'file', size: st.size });
        await pipeline(fs.createReadStream(childAbs, { highWaterMark: 1 << 20 }), sink as unknown as NodeJS.WritableStream);
      } else if (st.isFIFO()) {
        await add({ ...common, type: 'fifo' });
      }
      // sockets and other device nodes are not part of an image
    }
  };
  visit('')
    .then(() => pack.finalize())
    .catch((err) => pack.destroy(err as Error));
  return pack as unknown as Readable;
}
