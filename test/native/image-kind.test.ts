/**
 * The Image kind end to end on a one-node cluster (real API server, agent, Berth runtime) and Debian's
 * docker-registry on 127.0.0.1: pulls, tag moves with pullPolicy Always, Dockerfile builds, archive imports,
 * Containers pulling what they run, and the failures each with a clear condition and Event.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { Container, Image, KubeObject, RESOURCES } from '../../client';
import { findCondition } from '../../controllers/runtime';
import { importBusybox, ImageStore, pushImage, saveImages } from '../../node-agent/images';
import { composeImage, storeLayer } from '../../node-agent/images/compose';
import { startCluster, TestCluster } from '../helpers/cluster';
import { startRegistry, TestRegistry } from '../helpers/registry';

const NS = 'default';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-image-kind-'));

const until = async <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> => {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what}: not met in ${ms} ms${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** An image on busybox with one more file, so each call gives a different digest. */
async function appImage(store: ImageStore, base: string, content: string): Promise<string> {
  const pack = tar.pack();
  pack.entry({ name: 'app.txt', mode: 0o644 }, `${content}\n`);
  pack.finalize();
  const layer = await storeLayer(store, pack as unknown as Readable);
  const digest = await composeImage(store, { base: { manifest: store.getManifest(base), config: store.getConfig(base) }, layers: [layer] });
  store.addImage(digest);
  return digest;
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('Image kind and the node image controller', () => {
  let registry: TestRegistry;
  let cluster: TestCluster;
  let src: ImageStore;
  let base: string;
  const digests: Record<string, string> = {};

  beforeAll(async () => {
    registry = await startRegistry();
    src = new ImageStore({ root: path.join(tmp, 'src-store') });
    base = await importBusybox(src);
    for (const [tag, content] of [['app:v1', 'one'], ['other:v1', 'other']] as const) {
      digests[tag] = await appImage(src, base, content);
      src.tag(`${registry.host}/kind/${tag}`, digests[tag]);
      await pushImage(src, `${registry.host}/kind/${tag}`);
    }
    cluster = await startCluster({ imageController: { repullIntervalMs: 1000, backoff: { initialMs: 500, maxMs: 2000 }, progressIntervalMs: 0 } });
  }, 60_000);

  afterAll(async () => {
    const stateDir = path.join(cluster.api.home, 'node');
    await cluster.stop();
    await registry.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    // Nothing of the cluster's containers or builds is left on the host.
    expect(fs.readFileSync('/proc/mounts', 'utf8')).not.toContain(stateDir);
    expect(fs.existsSync(stateDir)).toBe(false);
    for (const name of ['kind-app', 'kind-other', 'kind-built', 'kind-byname', 'kind-waits', 'kind-missing']) {
      expect(fs.existsSync(`/sys/fs/cgroup/pids/berth/${NS}.${name}`)).toBe(false);
    }
    expect(await cluster.runtime.list()).toEqual([]);
    expect(() => process.kill(registry.pid, 0)).toThrow();
  }, 60_000);

  const client = () => cluster.api.client;
  const getImage = (name: string) => client().get<Image>(RESOURCES.images, name, NS);
  const getContainer = (name: string) => client().get<Container>(RESOURCES.containers, name, NS);
  const createImage = (name: string, spec: Record<string, unknown>) => client().create(RESOURCES.images, { metadata: { name, namespace: NS }, spec });
  const createContainer = (name: string, spec: Record<string, unknown>) =>
    client().create(RESOURCES.containers, { metadata: { name, namespace: NS }, spec } as KubeObject);
  const eventsFor = async (name: string, kind: string) =>
    (await client().list(RESOURCES.events, { namespace: NS })).items.filter((e) => {
      const o = e.involvedObject as { name: string; kind?: string };
      return o.name === name && o.kind === kind;
    }) as Array<KubeObject & { reason?: string; message?: string; type?: string }>;
  const readyCondition = (img: Image) => findCondition(img.status?.conditions, 'Ready');
  const whenReady = (name: string) =>
    until(`Image ${name} Ready`, async () => {
      const img = await getImage(name);
      return readyCondition(img)?.status === 'True' ? img : undefined;
    });
  const whenFailed = (name: string) =>
    until(`Image ${name} failed`, async () => {
      const img = await getImage(name);
      const c = readyCondition(img);
      return c?.status === 'False' && img.status?.phase === 'Failed' ? { img, c } : undefined;
    });

  it('an Image with spec.ref to the registry becomes Ready with the digest, layers and size of the pushed image', async () => {
    const ref = `${registry.host}/kind/app:v1`;
    await createImage('app', { ref });
    const img = await whenReady('app');
    const manifest = src.getManifest(digests['app:v1']);
    const status = img.status as Record<string, unknown> & { layers: Array<{ digest: string; size: number; diffID: string }> };
    expect(status.digest).toBe(digests['app:v1']);
    expect(status.resolvedRef).toBe(`${registry.host}/kind/app@${digests['app:v1']}`);
    expect(status.layers.map((l) => [l.digest, l.size])).toEqual(manifest.layers.map((l) => [l.digest, l.size]));
    expect(status.layers.map((l) => l.diffID)).toEqual(src.getConfig(digests['app:v1']).rootfs.diff_ids);
    expect(status.size).toBe(manifest.layers.reduce((n, l) => n + l.size, 0));
    expect(status.nodes).toEqual([cluster.nodeName]);
    expect(status.observedGeneration).toBe(img.metadata.generation);
    expect(status.config).toMatchObject({ cmd: ['sh'] });
    expect(findCondition(img.status?.conditions, 'Pulling')).toMatchObject({ status: 'False', reason: 'Completed' });
    expect(cluster.images.resolve(ref)).toBe(digests['app:v1']);
    const events = await eventsFor('app', 'Image');
    expect(events.some((e) => e.reason === 'Pulling' && /blobs, [\d.]+ of [\d.]+ MB/.test(e.message ?? ''))).toBe(true);
    expect(events.some((e) => e.reason === 'Pulled' && e.message?.includes(digests['app:v1']))).toBe(true);
  });

  it('a Container using that ref runs the pulled image and records its digest', async () => {
    await createContainer('kind-app', { image: `${registry.host}/kind/app:v1`, command: ['sh', '-c', 'cat /app.txt; sleep 1000'], terminationGracePeriodSeconds: 1 });
    const c = await until('kind-app Running', async () => {
      const c = await getContainer('kind-app');
      return c.status?.phase === 'Running' ? c : undefined;
    });
    expect(c.status?.imageDigest).toBe(digests['app:v1']);
    const log = path.join(cluster.logs.dirOf(NS, 'kind-app'), '0.log');
    await until('app.txt printed', async () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('one'));
  });

  it('a Container whose image is not on the node pulls it, with progress in its Events', async () => {
    const ref = `${registry.host}/kind/other:v1`;
    expect(() => cluster.images.resolve(ref)).toThrow();
    await createContainer('kind-other', { image: ref, command: ['sleep', '1000'], terminationGracePeriodSeconds: 1 });
    const c = await until('kind-other Running', async () => {
      const c = await getContainer('kind-other');
      return c.status?.phase === 'Running' ? c : undefined;
    });
    expect(c.status?.imageDigest).toBe(digests['other:v1']);
    const events = await eventsFor('kind-other', 'Container');
    expect(events.some((e) => e.reason === 'Pulling' && /blobs, [\d.]+ of [\d.]+ MB/.test(e.message ?? ''))).toBe(true);
    expect(events.some((e) => e.reason === 'Pulling' && e.message?.includes(`successfully pulled image ${ref} (${digests['other:v1']})`))).toBe(true);
  });

  it('moving the tag of an Always Image updates its digest on the next re-pull', async () => {
    const ref = `${registry.host}/kind/moving:latest`;
    src.tag(ref, digests['app:v1']);
    await pushImage(src, ref);
    await createImage('moving', { ref }); // :latest, so pullPolicy defaults to Always
    expect((await whenReady('moving')).status?.digest).toBe(digests['app:v1']);
    const moved = await appImage(src, base, 'two');
    src.tag(ref, moved);
    await pushImage(src, ref);
    const img = await until('digest follows the tag', async () => {
      const img = await getImage('moving');
      return img.status?.digest === moved ? img : undefined;
    });
    expect(readyCondition(img)?.status).toBe('True');
    expect(cluster.images.resolve(ref)).toBe(moved);
    const events = await eventsFor('moving', 'Image');
    expect(events.some((e) => e.reason === 'Pulled' && e.message?.includes(`the tag moved from ${digests['app:v1']}`))).toBe(true);
  });

  it('an Image with spec.build builds from the Dockerfile (busybox base) and a Container runs the result', async () => {
    await importBusybox(cluster.images);
    const context = path.join(tmp, 'build-ok');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'greeting.txt'), 'hello from the build\n');
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nCOPY greeting.txt /greeting.txt\nRUN cp /greeting.txt /built.txt\nCMD ["cat", "/built.txt"]\n');
    await createImage('built', { ref: 'berth-kind/built:v1', build: { context } });
    const img = await whenReady('built');
    expect(img.status?.digest).toBe(cluster.images.resolve('berth-kind/built:v1'));
    expect(img.status?.config).toMatchObject({ cmd: ['cat', '/built.txt'] });
    expect(findCondition(img.status?.conditions, 'Building')).toMatchObject({ status: 'False', reason: 'Completed' });
    const events = await eventsFor('built', 'Image');
    expect(events.filter((e) => e.reason === 'BuildStep').map((e) => e.message).sort()).toEqual([
      'Step 1/4 : FROM busybox',
      'Step 2/4 : COPY greeting.txt /greeting.txt',
      'Step 3/4 : RUN cp /greeting.txt /built.txt',
      'Step 4/4 : CMD ["cat", "/built.txt"]',
    ]);
    expect(events.some((e) => e.reason === 'Built')).toBe(true);

    await createContainer('kind-built', { image: 'berth-kind/built:v1', restartPolicy: 'Never' });
    const c = await until('kind-built Succeeded', async () => {
      const c = await getContainer('kind-built');
      return c.status?.phase === 'Succeeded' ? c : undefined;
    });
    expect(c.status?.imageDigest).toBe(img.status?.digest);
    expect(fs.readFileSync(path.join(cluster.logs.dirOf(NS, 'kind-built'), '0.log'), 'utf8')).toMatch(/(^| )hello from the build\n$/);
  });

  it('a Container naming an Image object runs that Image\'s digest, and waits while the Image is not Ready', async () => {
    await createContainer('kind-byname', { image: 'built', restartPolicy: 'Never' });
    const c = await until('kind-byname Succeeded', async () => {
      const c = await getContainer('kind-byname');
      return c.status?.phase === 'Succeeded' ? c : undefined;
    });
    expect(c.status?.imageDigest).toBe((await getImage('built')).status?.digest);
    expect(fs.readFileSync(path.join(cluster.logs.dirOf(NS, 'kind-byname'), '0.log'), 'utf8')).toMatch(/(^| )hello from the build\n$/);

    await createImage('never-here', { ref: 'berth-kind/never-here:v1', pullPolicy: 'Never' });
    await createContainer('kind-waits', { image: 'never-here', terminationGracePeriodSeconds: 1 });
    const waiting = await until('kind-waits backing off', async () => {
      const c = await getContainer('kind-waits');
      return c.status?.reason === 'ImagePullBackOff' && /Image never-here is not ready on this node: .*pullPolicy is Never/.test(String(c.status?.message)) ? c : undefined;
    });
    expect(waiting.status?.imageDigest).toBeUndefined();
  });

  it('an Image with spec.import loads a docker-save archive and tags it with spec.ref', async () => {
    const archive = path.join(tmp, 'other.tar');
    await saveImages(src, [`${registry.host}/kind/other:v1`], archive, 'docker');
    await createImage('imported', { ref: 'berth-kind/imported:v1', import: { path: archive } });
    const img = await whenReady('imported');
    expect(img.status?.digest).toBe(digests['other:v1']);
    expect(cluster.images.resolve('berth-kind/imported:v1')).toBe(digests['other:v1']);
    expect((await eventsFor('imported', 'Image')).some((e) => e.reason === 'Imported')).toBe(true);
  });

  it('a ref the registry does not have: Ready=False ErrImagePull naming it, a Warning Event, retried', async () => {
    await createImage('missing', { ref: `${registry.host}/kind/nope:v1` });
    const { c } = await whenFailed('missing');
    expect(c.reason).toBe('ErrImagePull');
    expect(c.message).toMatch(new RegExp(`^pulling ${registry.host}/kind/nope:v1: .*(manifest unknown|not found|404)`, 'i'));
    const warning = await until('Warning Event', async () => (await eventsFor('missing', 'Image')).find((e) => e.type === 'Warning' && e.reason === 'ErrImagePull'));
    expect(warning.message).toContain('retrying in');
    // Retried with back-off: the same Warning Event is counted again.
    await until('retried', async () => ((await eventsFor('missing', 'Image')).find((e) => e.reason === 'ErrImagePull') as { count?: number })?.count! >= 2);
  });

  it('an unreachable registry: Ready=False ErrImagePull with the connection error', async () => {
    const ref = `127.0.0.1:${await closedPort()}/kind/app:v1`;
    await createImage('unreachable', { ref });
    const { c } = await whenFailed('unreachable');
    expect(c.reason).toBe('ErrImagePull');
    expect(c.message).toMatch(/ECONNREFUSED|connect/);
    expect((await eventsFor('unreachable', 'Image')).some((e) => e.type === 'Warning' && e.reason === 'ErrImagePull')).toBe(true);
  });

  it('a Dockerfile syntax error: Ready=False BuildFailed with the line, a Warning Event, nothing built', async () => {
    const context = path.join(tmp, 'build-bad');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nRUN true\nFROBNICATE now\n');
    await createImage('badbuild', { ref: 'berth-kind/bad:v1', build: { context } });
    const { c } = await whenFailed('badbuild');
    expect(c.reason).toBe('BuildFailed');
    expect(c.message).toBe('Dockerfile line 3: unknown instruction "FROBNICATE"');
    expect((await eventsFor('badbuild', 'Image')).some((e) => e.type === 'Warning' && e.reason === 'BuildFailed' && e.message?.includes('line 3'))).toBe(true);
    expect(() => cluster.images.resolve('berth-kind/bad:v1')).toThrow();
  });

  it('a Container whose image cannot be pulled waits in ErrImagePull/ImagePullBackOff with a Warning Event and leaks nothing', async () => {
    const ref = `${registry.host}/kind/absent:v1`;
    await createContainer('kind-missing', { image: ref, terminationGracePeriodSeconds: 1 });
    const c = await until('kind-missing backing off', async () => {
      const c = await getContainer('kind-missing');
      return c.status?.reason === 'ImagePullBackOff' ? c : undefined;
    });
    expect(c.status?.phase).toBe('Pending');
    expect(c.status?.message).toMatch(new RegExp(`pulling image "${ref}": cannot pull image ${ref}: .*(manifest unknown|not found|404)`, 'i'));
    expect(c.status?.imageDigest).toBeUndefined();
    const warning = (await eventsFor('kind-missing', 'Container')).find((e) => e.type === 'Warning' && e.reason === 'ErrImagePull');
    expect(warning?.message).toContain(`cannot pull image ${ref}`);
    // No runtime container, rootfs, cgroup or temp blob came of it.
    expect((await cluster.runtime.list()).map((s) => s.id)).not.toContain(`${NS}.kind-missing`);
    expect(fs.existsSync(cluster.images.upperDir(`${NS}.kind-missing`))).toBe(false);
    expect(fs.existsSync(`/sys/fs/cgroup/pids/berth/${NS}.kind-missing`)).toBe(false);
    expect(fs.readdirSync(cluster.images.blobs.tmpDir)).toEqual([]);
  });
});
