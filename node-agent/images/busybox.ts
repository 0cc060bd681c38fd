/**
 * A base image with no registry: Debian's busybox-static binary plus one symlink per applet,
 * `/etc/passwd`/`/etc/group` for root and nobody, and the usual empty directories.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import { Readable } from 'stream';
import * as tar from 'tar-stream';
import { composeImage, storeLayer } from './compose';
import { ImageStore } from './store';

export const BUSYBOX_BINARY = '/bin/busybox';

/** Imports busybox as `tag` (default busybox:latest); returns the manifest digest. */
export async function importBusybox(store: ImageStore, tag = 'busybox:latest', binary = BUSYBOX_BINARY): Promise<string> {
  const applets = execFileSync(binary, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  const pack = tar.pack();
  const mtime = new Date(0);
  const dir = (name: string, mode = 0o755) => pack.entry({ name, type: 'directory', mode, mtime });
  for (const d of ['bin/', 'etc/', 'dev/', 'proc/', 'sys/', 'root/', 'home/', 'var/', 'usr/']) dir(d, d === 'root/' ? 0o700 : 0o755);
  dir('tmp/', 0o1777);
  pack.entry({ name: 'etc/passwd', mode: 0o644, mtime }, 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  pack.entry({ name: 'etc/group', mode: 0o644, mtime }, 'root:x:0:\nnobody:x:65534:\n');
  pack.entry({ name: 'bin/busybox', mode: 0o755, mtime }, fs.readFileSync(binary));
  for (const a of applets) pack.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mtime });
  pack.finalize();
  const layer = await storeLayer(store, pack as unknown as Readable);
  const digest = await composeImage(store, {
    layers: [layer],
    created: mtime.toISOString(),
    containerConfig: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    history: [{ created: mtime.toISOString(), created_by: `berth image import --busybox (${binary})` }],
  });
  store.addImage(digest);
  store.tag(tag, digest);
  return digest;
}
