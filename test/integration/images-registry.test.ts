import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as tar from 'tar-stream';
import { importBusybox } from '../../node-agent/images/busybox';
import { composeImage, storeLayer } from '../../node-agent/images/compose';
import { DigestMismatchError, sha256 } from '../../node-agent/images/digest';
import { MediaType } from '../../node-agent/images/media';
import { AuthError } from '../../node-agent/images/registry/auth';
import { RegistryClient } from '../../node-agent/images/registry/client';
import { TransferProgress } from '../../node-agent/images/registry/progress';
import { defaultPullPolicy, ensureImage } from '../../node-agent/images/ensure';
import { pullImage } from '../../node-agent/images/registry/pull';
import { pushImage } from '../../node-agent/images/registry/push';
import { ImageStore } from '../../node-agent/images/store';
import { startRegistry, TestRegistry } from '../helpers/registry';

const roots: string[] = [];
function newStore(): ImageStore {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-images-'));
  roots.push(root);
  return new ImageStore({ root });
}

afterAll(() => {
  for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
  expect(roots.every((r) => !fs.existsSync(r))).toBe(true);
});

async function appOnBusybox(store: ImageStore, base: string, file: string): Promise<string> {
  const pack = tar.pack();
  pack.entry({ name: file, mode: 0o644 }, `content of ${file}\n`);
  pack.finalize();
  const layer = await storeLayer(store, pack as unknown as Readable);
  const digest = await composeImage(store, { base: { manifest: store.getManifest(base), config: store.getConfig(base) }, layers: [layer] });
  store.addImage(digest);
  return digest;
}

function storeSnapshot(store: ImageStore): string[] {
  return [...store.blobs.list(), ...fs.readdirSync(store.blobs.tmpDir), JSON.stringify(store.meta.read())].sort();
}

describe('registry pull and push (plain HTTP)', () => {
  let registry: TestRegistry;
  beforeAll(async () => (registry = await startRegistry()));
  afterAll(async () => {
    await registry.stop();
    expect(() => process.kill(registry.pid, 0)).toThrow();
    expect(fs.existsSync(registry.dir)).toBe(false);
  });

  it('pushes, skips and mounts shared blobs, pulls back by tag and digest with verified content', async () => {
    const src = newStore();
    const base = await importBusybox(src);
    const app = await appOnBusybox(src, base, 'app.txt');
    src.tag(`${registry.host}/berth/busybox:1`, base);
    src.tag(`${registry.host}/berth/app:1`, app);
    const events: TransferProgress[] = [];
    const first = await pushImage(src, `${registry.host}/berth/busybox:1`, undefined, { onProgress: (e) => events.push(e) });
    expect(first.uploaded).toHaveLength(2);
    expect(events.some((e) => e.status === 'transferring' && e.kind === 'layer')).toBe(true);
    expect(events.filter((e) => e.status === 'done')).toHaveLength(2);
    const again = await pushImage(src, `${registry.host}/berth/busybox:1`);
    expect(again.uploaded).toEqual([]);
    expect(again.existing).toHaveLength(2);
    const second = await pushImage(src, `${registry.host}/berth/app:1`);
    const baseLayer = src.getManifest(base).layers[0].digest;
    expect(second.mounted).toEqual([baseLayer]);
    expect(second.uploaded).toHaveLength(2); // the app layer and its config

    const dst = newStore();
    const pulled = await pullImage(dst, `${registry.host}/berth/app:1`, { onProgress: (e) => events.push(e) });
    expect(pulled.digest).toBe(app);
    expect(dst.resolve(`${registry.host}/berth/app:1`)).toBe(app);
    for (const d of dst.blobs.list()) expect(sha256(dst.blobs.read(d))).toBe(d);
    const byDigest = await pullImage(newStore(), `${registry.host}/berth/busybox@${base}`);
    expect(byDigest.digest).toBe(base);
    // what Berth pushed is readable by a tool nobody here wrote
    const inspected = JSON.parse(execFileSync('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/berth/app:1`], { encoding: 'utf8' }));
    expect(inspected.Digest).toBe(app);
    expect(inspected.Layers).toHaveLength(2);
  });

  it('selects the local platform from an image index', async () => {
    const src = newStore();
    const base = await importBusybox(src);
    const other = await appOnBusybox(src, base, 'arm.txt');
    src.tag(`${registry.host}/berth/multi:amd64`, base);
    src.tag(`${registry.host}/berth/multi:arm64`, other);
    await pushImage(src, `${registry.host}/berth/multi:amd64`);
    await pushImage(src, `${registry.host}/berth/multi:arm64`);
    const index = Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: MediaType.ociIndex,
      manifests: [
        { mediaType: MediaType.ociManifest, digest: other, size: src.blobs.size(other), platform: { os: 'linux', architecture: 'arm64' } },
        { mediaType: MediaType.ociManifest, digest: base, size: src.blobs.size(base), platform: { os: 'linux', architecture: 'amd64' } },
      ],
    }));
    const client = new RegistryClient(registry.host, { scheme: 'http' });
    await client.putManifest('berth/multi', 'latest', index, MediaType.ociIndex);
    client.close();
    const dst = newStore();
    const pulled = await pullImage(dst, `${registry.host}/berth/multi`);
    expect(pulled.digest).toBe(base);
    expect(dst.meta.read().images[base].indexDigest).toBe(sha256(index));
    await expect(pullImage(newStore(), `${registry.host}/berth/multi`, { platform: { os: 'linux', architecture: 's390x' } }))
      .rejects.toThrow(/no manifest for linux\/s390x.*linux\/arm64, linux\/amd64/);
  });

  it('ensures images by pull policy: Never and IfNotPresent use the store, Always asks the registry', async () => {
    expect([defaultPullPolicy('busybox'), defaultPullPolicy('busybox:1'), defaultPullPolicy(`busybox@${sha256('x')}`)])
      .toEqual(['Always', 'IfNotPresent', 'IfNotPresent']);
    const src = newStore();
    const base = await importBusybox(src);
    const ref = `${registry.host}/berth/policy:1`;
    src.tag(ref, base);
    const dst = newStore();
    await expect(ensureImage(dst, ref, 'Never')).rejects.toThrow('not found');
    await expect(ensureImage(dst, ref, 'IfNotPresent')).rejects.toThrow(/registry answered 404/);
    await pushImage(src, ref);
    expect(await ensureImage(dst, ref, 'IfNotPresent')).toBe(base);
    // the tag moves in the registry; IfNotPresent keeps the local digest, Always follows the tag
    const moved = await appOnBusybox(src, base, 'moved.txt');
    src.tag(ref, moved);
    await pushImage(src, ref);
    expect(await ensureImage(dst, ref, 'IfNotPresent')).toBe(base);
    expect(await ensureImage(dst, ref, 'Always')).toBe(moved);
  });

  it('rejects a blob the registry serves corrupted and leaves the store as it was', async () => {
    const src = newStore();
    const base = await importBusybox(src);
    const app = await appOnBusybox(src, base, 'victim.txt');
    src.tag(`${registry.host}/berth/victim:1`, app);
    await pushImage(src, `${registry.host}/berth/victim:1`);
    const layer = src.getManifest(app).layers[1].digest.slice('sha256:'.length);
    const file = path.join(registry.dir, 'data/docker/registry/v2/blobs/sha256', layer.slice(0, 2), layer, 'data');
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 5] ^= 0xff;
    fs.writeFileSync(file, bytes);
    const dst = newStore();
    await importBusybox(dst);
    const before = storeSnapshot(dst);
    await expect(pullImage(dst, `${registry.host}/berth/victim:1`)).rejects.toThrow(DigestMismatchError);
    expect(storeSnapshot(dst)).toEqual(before);
  });
});

describe.each([
  ['htpasswd basic auth', { credentials: { username: 'alice', password: 's3cret' } }],
  ['bearer tokens', { token: true, credentials: { username: 'bob', password: 'pw' } }],
  ['TLS with basic auth', { tls: true, credentials: { username: 'carol', password: 'tls-pw' } }],
])('registry with %s', (_name, options) => {
  let registry: TestRegistry;
  beforeAll(async () => (registry = await startRegistry(options)));
  afterAll(async () => registry.stop());

  it('pushes and pulls with the right credentials and refuses without them', async () => {
    const src = newStore();
    const base = await importBusybox(src);
    const ref = `${registry.host}/secure/busybox:1`;
    src.tag(ref, base);
    const opts = { credentials: options.credentials, ...(registry.ca ? { ca: registry.ca } : {}) };
    await pushImage(src, ref, undefined, opts);
    const pulled = await pullImage(newStore(), ref, opts);
    expect(pulled.digest).toBe(base);
    await expect(pullImage(newStore(), ref, { ...(registry.ca ? { ca: registry.ca } : {}) })).rejects.toThrow(AuthError);
    await expect(pullImage(newStore(), ref, { ...opts, credentials: { username: options.credentials.username, password: 'wrong' } }))
      .rejects.toThrow(AuthError);
    if ('token' in options) expect(registry.tokenRequests.some((q) => q.includes('scope=repository%3Asecure%2Fbusybox%3Apull%2Cpush'))).toBe(true);
    if (registry.ca) {
      await expect(pullImage(newStore(), ref, { credentials: options.credentials, scheme: 'https' })).rejects.toThrow(/certificate/);
      await expect(pullImage(newStore(), ref, { credentials: options.credentials })).rejects.toThrow(/certificate/);
    }
  });
});
