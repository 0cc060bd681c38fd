import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { importBusybox } from '../../node-agent/images/busybox';
import { DigestMismatchError } from '../../node-agent/images/digest';
import { importRootfs, loadImages, saveImages } from '../../node-agent/images/load';
import { ImageStore } from '../../node-agent/images/store';

let work: string;
const newStore = () => new ImageStore({ root: fs.mkdtempSync(path.join(work, 'store-')) });
const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const snapshot = (s: ImageStore) => [...s.blobs.list(), ...fs.readdirSync(s.blobs.tmpDir), JSON.stringify(s.meta.read())].sort();

beforeAll(() => (work = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-archive-'))));
afterAll(() => {
  fs.rmSync(work, { recursive: true, force: true });
  expect(fs.existsSync(work)).toBe(false);
});

describe('image archives and interoperability with skopeo and umoci', () => {
  it('loads a docker-archive that skopeo made from a umoci-built OCI layout, and that layout itself', async () => {
    const layout = path.join(work, 'umoci-layout');
    const bundle = path.join(work, 'umoci-bundle');
    run('umoci', ['init', '--layout', layout]);
    run('umoci', ['new', '--image', `${layout}:t`]);
    run('umoci', ['unpack', '--image', `${layout}:t`, bundle]);
    fs.mkdirSync(path.join(bundle, 'rootfs/bin'));
    fs.copyFileSync('/bin/busybox', path.join(bundle, 'rootfs/bin/busybox'));
    fs.symlinkSync('busybox', path.join(bundle, 'rootfs/bin/sh'));
    run('umoci', ['repack', '--image', `${layout}:t`, bundle]);
    const archive = path.join(work, 'skopeo.tar');
    run('skopeo', ['copy', `oci:${layout}:t`, `docker-archive:${archive}:foo/bar:t`]);
    expect(run('tar', ['tf', archive])).toMatch(/manifest\.json/);

    const store = newStore();
    const [loaded] = await loadImages(store, archive);
    expect(loaded.tags).toEqual(['docker.io/foo/bar:t']);
    const [lower] = await store.ensureUnpacked(loaded.digest);
    expect(fs.readlinkSync(path.join(lower, 'bin/sh'))).toBe('busybox');
    expect(fs.statSync(path.join(lower, 'bin/busybox')).size).toBe(fs.statSync('/bin/busybox').size);
    const umociConfig = JSON.parse(run('skopeo', ['inspect', '--config', `oci:${layout}:t`]));
    expect(store.getConfig(loaded.digest).rootfs.diff_ids).toEqual(umociConfig.rootfs.diff_ids);

    const [fromLayout] = await loadImages(store, layout, { repository: 'umoci/img' });
    expect(fromLayout.tags).toEqual(['docker.io/umoci/img:t']);
    expect(store.getManifest(fromLayout.digest).config.digest).toBe(store.getManifest(loaded.digest).config.digest);
  });

  it('exports OCI layouts and docker archives that skopeo and umoci read, and loads them back', async () => {
    const store = newStore();
    const digest = await importBusybox(store);
    const configDigest = store.getManifest(digest).config.digest;
    const ociDir = path.join(work, 'berth-oci');
    const ociTar = path.join(work, 'berth-oci.tar');
    const dockerTar = path.join(work, 'berth-docker.tar');
    await saveImages(store, ['busybox:latest'], ociDir, 'oci', true);
    await saveImages(store, ['busybox:latest'], ociTar, 'oci');
    await saveImages(store, ['busybox:latest'], dockerTar, 'docker');

    expect(JSON.parse(run('skopeo', ['inspect', `oci:${ociDir}:latest`])).Digest).toBe(digest);
    expect(JSON.parse(run('skopeo', ['inspect', `oci-archive:${ociTar}:latest`])).Digest).toBe(digest);
    const fromDocker = JSON.parse(run('skopeo', ['inspect', '--config', `docker-archive:${dockerTar}`]));
    expect(fromDocker.rootfs.diff_ids).toEqual(store.getConfig(digest).rootfs.diff_ids);
    run('skopeo', ['copy', `docker-archive:${dockerTar}`, `oci:${path.join(work, 'copied')}:x`]);
    const bundle = path.join(work, 'berth-bundle');
    run('umoci', ['unpack', '--image', `${ociDir}:latest`, bundle]);
    expect(run(path.join(bundle, 'rootfs/bin/busybox'), ['echo', 'unpacked by umoci'])).toBe('unpacked by umoci\n');

    for (const file of [ociTar, dockerTar]) {
      const other = newStore();
      const [img] = await loadImages(other, file);
      expect(img.tags).toEqual(['docker.io/library/busybox:latest']);
      expect(other.getManifest(img.digest).config.digest).toBe(configDigest);
    }
  });

  it('imports a rootfs tarball as a one-layer image', async () => {
    const rootfs = path.join(work, 'rootfs');
    fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(rootfs, 'etc/hello'), 'hi\n');
    const tarball = path.join(work, 'rootfs.tar.gz');
    run('tar', ['czf', tarball, '-C', rootfs, '.']);
    const store = newStore();
    const digest = await importRootfs(store, tarball, 'imported:1');
    expect(store.resolve('imported:1')).toBe(digest);
    const [lower] = await store.ensureUnpacked(digest);
    expect(fs.readFileSync(path.join(lower, 'etc/hello'), 'utf8')).toBe('hi\n');
  });

  it('rejects a truncated archive and a layout blob that lies, leaving the store as it was', async () => {
    const src = newStore();
    await importBusybox(src);
    const tarFile = path.join(work, 'trunc.tar');
    await saveImages(src, ['busybox:latest'], tarFile, 'docker');
    fs.truncateSync(tarFile, Math.floor(fs.statSync(tarFile).size / 2));
    const dst = newStore();
    const before = snapshot(dst);
    await expect(loadImages(dst, tarFile)).rejects.toThrow(/truncated or corrupt/);
    expect(snapshot(dst)).toEqual(before);

    const dir = path.join(work, 'lying');
    await saveImages(src, ['busybox:latest'], dir, 'oci', true);
    const blobs = path.join(dir, 'blobs/sha256');
    const biggest = fs.readdirSync(blobs).sort((a, b) => fs.statSync(path.join(blobs, b)).size - fs.statSync(path.join(blobs, a)).size)[0];
    const bytes = fs.readFileSync(path.join(blobs, biggest));
    bytes[100] ^= 1;
    fs.writeFileSync(path.join(blobs, biggest), bytes);
    await expect(loadImages(dst, dir)).rejects.toThrow(DigestMismatchError);
    expect(snapshot(dst)).toEqual(before);
  });
});
