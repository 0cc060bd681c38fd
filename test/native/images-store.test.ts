import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as tar from 'tar-stream';
import { gzipSync } from 'zlib';
import { importBusybox } from '../../node-agent/images/busybox';
import { composeImage, storeLayer } from '../../node-agent/images/compose';
import { DigestMismatchError, SizeMismatchError, sha256 } from '../../node-agent/images/digest';
import { hasXattr } from '../../node-agent/images/fsops';
import { MediaType, UnknownMediaTypeError } from '../../node-agent/images/media';
import { isMountPoint, isOverlayMounted } from '../../node-agent/images/overlay';
import { ImageStore } from '../../node-agent/images/store';
import { UnsafeLayerEntryError, unpackLayer } from '../../node-agent/images/unpack';

type Entry = tar.Header extends infer H ? Partial<H> & { name: string; body?: string } : never;

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const pack = tar.pack();
  for (const { body, ...h } of entries) pack.entry({ mode: 0o644, mtime: new Date(0), ...h }, body ?? '');
  pack.finalize();
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function layerImage(store: ImageStore, layers: Buffer[], base?: string): Promise<string> {
  const stored = [];
  for (const l of layers) stored.push(await storeLayer(store, Readable.from([l])));
  const digest = await composeImage(store, {
    layers: stored,
    ...(base ? { base: { manifest: store.getManifest(base), config: store.getConfig(base) } } : {}),
  });
  store.addImage(digest);
  return digest;
}

/** Everything visible in the store, to prove failed operations leave it as it was. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  for (const sub of ['blobs/sha256', 'layers', 'tmp']) for (const f of fs.readdirSync(path.join(root, sub))) out.push(`${sub}/${f}`);
  out.push(fs.existsSync(path.join(root, 'index.json')) ? fs.readFileSync(path.join(root, 'index.json'), 'utf8') : '');
  return out.sort();
}

/** Bytes on disk, not counting mounted container root filesystems (-x: stay on one file system). */
function diskUsage(dir: string): number {
  return Number(execFileSync('du', ['-s', '-x', '-B1', dir], { encoding: 'utf8' }).split('\t')[0]);
}

describe('ImageStore (root: mounts, mknod, xattrs)', () => {
  let root: string;
  let store: ImageStore;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-images-'));
    store = new ImageStore({ root });
  });

  afterEach(async () => {
    for (const id of store.containerImages().keys()) await store.releaseRootfs(id);
    fs.rmSync(root, { recursive: true, force: true });
    expect(fs.existsSync(root)).toBe(false);
  });

  it('imports busybox, mounts it as a container rootfs, runs a shell in it and releases it', async () => {
    const digest = await importBusybox(store);
    expect(store.resolve('busybox')).toBe(digest);
    expect(store.resolve('docker.io/library/busybox:latest')).toBe(digest);
    const imageId = store.getManifest(digest).config.digest;
    expect([store.resolve(imageId), store.resolve(imageId.slice(7, 19)), store.resolve(digest.slice(7, 19))]).toEqual([digest, digest, digest]);
    expect(() => store.resolve('0123456789ab')).toThrow('not found');
    const rootfs = await store.prepareRootfs(digest, 'c1');
    expect(rootfs).toContain('berth');
    expect(isMountPoint(rootfs)).toBe(true);
    const out = execFileSync('chroot', [rootfs, '/bin/sh', '-c', 'echo hello > /tmp/x && cat /tmp/x && ls /bin/ls'], { encoding: 'utf8' });
    expect(out).toBe('hello\n/bin/ls\n');
    expect(fs.readFileSync(path.join(store.upperDir('c1'), 'tmp/x'), 'utf8')).toBe('hello\n');
    // Preparing it again (a restart of the container) keeps the one mount and the writes in it.
    expect(await isOverlayMounted(rootfs)).toBe(true);
    expect(await store.prepareRootfs(digest, 'c1')).toBe(rootfs);
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4] === rootfs)).toHaveLength(1);
    expect(fs.readFileSync(path.join(rootfs, 'tmp/x'), 'utf8')).toBe('hello\n');
    // the shared layer is untouched by the container's write
    expect(fs.existsSync(path.join(store.layerDir(store.getConfig(digest).rootfs.diff_ids[0]), 'tmp/x'))).toBe(false);
    await store.releaseRootfs('c1');
    expect(isMountPoint(rootfs)).toBe(false);
    expect(fs.existsSync(path.dirname(rootfs))).toBe(false);
  });

  it('translates whiteouts and opaque directories to overlayfs', async () => {
    const base = await layerImage(store, [await makeTar([
      { name: 'a/', type: 'directory', mode: 0o755 }, { name: 'a/x', body: 'x' }, { name: 'a/y', body: 'y' },
      { name: 'd/', type: 'directory', mode: 0o755 }, { name: 'd/z', body: 'z' },
    ])]);
    const top = await layerImage(store, [await makeTar([
      { name: 'a/.wh.x' }, { name: 'd/.wh..wh..opq' }, { name: 'd/new', body: 'n', mode: 0o4755, uid: 1000, gid: 1001 },
    ])], base);
    const rootfs = await store.prepareRootfs(top, 'c2');
    expect(fs.readdirSync(path.join(rootfs, 'a'))).toEqual(['y']);
    expect(fs.readdirSync(path.join(rootfs, 'd'))).toEqual(['new']);
    const st = fs.statSync(path.join(rootfs, 'd/new'));
    expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o4755, 1000, 1001]);
    const topDir = store.layerDir(store.getConfig(top).rootfs.diff_ids[1]);
    const wh = fs.lstatSync(path.join(topDir, 'a/x'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(hasXattr(path.join(topDir, 'd'), 'trusted.overlay.opaque')).toBe(true);
    await store.releaseRootfs('c2');
  });

  it.each<[string, Entry[], string]>([
    ['dot-dot', [{ name: '../evil', body: 'x' }], '"../evil"'],
    ['nested dot-dot', [{ name: 'a/../../evil', body: 'x' }], 'a/../../evil'],
    ['absolute path', [{ name: '/etc/evil', body: 'x' }], '/etc/evil'],
    ['symlink out', [{ name: 'l', type: 'symlink', linkname: '../../../etc' }], 'points outside'],
    ['write through symlink', [{ name: 'l', type: 'symlink', linkname: '/etc' }, { name: 'l/passwd', body: 'x' }], 'through symlink "l"'],
    ['hard link out', [{ name: 'h', type: 'link', linkname: '../../etc/passwd' }], 'h -> ../../etc/passwd'],
    ['device node', [{ name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0 }], 'device node'],
  ])('rejects a layer with a %s entry and leaves nothing behind', async (_what, entries, message) => {
    const layersBefore = fs.readdirSync(path.join(root, 'layers'));
    const dest = path.join(root, 'layers', 'x');
    const tarball = await makeTar([{ name: 'ok', body: 'fine' }, ...entries]);
    const p = unpackLayer(Readable.from([tarball]), 'none', dest);
    await expect(p).rejects.toThrow(UnsafeLayerEntryError);
    await expect(unpackLayer(Readable.from([tarball]), 'none', dest)).rejects.toThrow(message);
    expect(fs.readdirSync(path.join(root, 'layers'))).toEqual(layersBefore);
    expect(fs.existsSync('/etc/evil')).toBe(false);
  });

  it('rejects a truncated layer and a diff ID mismatch without leaving a layer', async () => {
    const gz = gzipSync(await makeTar([{ name: 'f', body: 'y'.repeat(100000) }]));
    const dest = path.join(root, 'layers', 't');
    await expect(unpackLayer(Readable.from([gz.subarray(0, gz.length / 2)]), 'gzip', dest)).rejects.toThrow(/truncated or corrupt/);
    await expect(unpackLayer(Readable.from([gz]), 'gzip', dest, sha256('other'))).rejects.toThrow(DigestMismatchError);
    expect(fs.readdirSync(path.join(root, 'layers'))).toEqual(['empty']);
  });

  it('never exposes a blob whose content mismatches its digest or size', async () => {
    const before = snapshot(root);
    await expect(store.blobs.put(Buffer.from('corrupt'), { digest: sha256('original') })).rejects.toThrow(DigestMismatchError);
    await expect(store.blobs.put(Buffer.from('longer than said'), { size: 4 })).rejects.toThrow(SizeMismatchError);
    await expect(store.blobs.put(Buffer.from('short'), { size: 40 })).rejects.toThrow(SizeMismatchError);
    expect(snapshot(root)).toEqual(before);
  });

  it('refuses a manifest that lies about sizes or has an unknown media type, inside a transaction', async () => {
    const layer = gzipSync(await makeTar([{ name: 'f', body: 'data' }]));
    const before = snapshot(root);
    const attempt = (layerDescriptor: object) => store.transaction(async () => {
      const l = await store.blobs.put(layer);
      const c = await store.putJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256('x')] } });
      const m = await store.putJson({
        schemaVersion: 2, mediaType: MediaType.ociManifest,
        config: { mediaType: MediaType.ociConfig, digest: c.digest, size: c.size },
        layers: [{ mediaType: MediaType.ociLayerGzip, digest: l.digest, size: l.size, ...layerDescriptor }],
      });
      store.addImage(m.digest);
    });
    await expect(attempt({ size: layer.length + 10 })).rejects.toThrow(SizeMismatchError);
    await expect(attempt({ mediaType: 'application/vnd.example.layer+zstd' })).rejects.toThrow(UnknownMediaTypeError);
    expect(snapshot(root)).toEqual(before);
  });

  it('rolls back only its own blobs when a concurrent transaction fails', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const good = store.transaction(async () => {
      const b = await store.blobs.put(Buffer.from('kept by the transaction that succeeds'));
      await gate;
      return b.digest;
    });
    const bad = store.transaction(async () => {
      await store.blobs.put(Buffer.from('written by the transaction that fails'));
      throw new Error('fails');
    });
    await expect(bad).rejects.toThrow('fails');
    release();
    const kept = await good;
    expect(store.blobs.list()).toEqual([kept]);
  });

  it('stores a shared base once and garbage-collects only what no image references', async () => {
    const base = await importBusybox(store);
    const baseUsage = diskUsage(root);
    const big = (seed: string) => makeTar([{ name: `data-${seed}`, body: seed.repeat(200000) }]);
    const a = await layerImage(store, [await big('a')], base);
    const b = await layerImage(store, [await big('b')], base);
    store.tag('app-a:1', a);
    store.tag('app-b:1', b);
    await store.prepareRootfs(a, 'ca');
    await store.prepareRootfs(b, 'cb');
    const busyboxSize = fs.statSync('/bin/busybox').size;
    // both images' rootfs are mounted, yet the busybox layer exists once (blob and unpacked tree)
    const layerDirs = fs.readdirSync(path.join(root, 'layers')).filter((n) => n !== 'empty');
    expect(layerDirs).toHaveLength(3);
    expect(diskUsage(root) - baseUsage).toBeLessThan(busyboxSize + 3 * 200000);
    await store.releaseRootfs('ca');
    await store.releaseRootfs('cb');
    store.remove('app-b:1');
    const gc = await store.gc();
    expect(gc.blobsRemoved).toBe(3); // b's layer, config, manifest
    expect(gc.layersRemoved).toBe(1);
    expect(fs.readdirSync(path.join(root, 'layers')).filter((n) => n !== 'empty')).toHaveLength(2);
    const rootfs = await store.prepareRootfs(store.resolve('app-a:1'), 'ca2');
    expect(fs.readFileSync(path.join(rootfs, 'data-a'), 'utf8')).toHaveLength(200000);
    await store.releaseRootfs('ca2');
  });
});
