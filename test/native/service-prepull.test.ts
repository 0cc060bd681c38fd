/**
 * Pre-pull through a real one-node cluster and Debian's docker-registry on 127.0.0.1: a rollout to an image the
 * node does not hold first shows the pre-pull phase, the node's Image controller pulls and unpacks it, and only
 * then do containers of the new revision start — pinned to the digest that was pulled.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { Container, Image, KubeObject, RESOURCES, Service } from '../../client';
import { importBusybox, ImageStore, pushImage } from '../../node-agent/images';
import { composeImage, storeLayer } from '../../node-agent/images/compose';
import { testTag } from '../../node-agent/network/testing';
import { startCluster, TestCluster } from '../helpers/cluster';
import { startRegistry, TestRegistry } from '../helpers/registry';
import { until } from '../helpers/until';

const namespace = `pp-${testTag()}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-service-prepull-'));
let registry: TestRegistry;
let cluster: TestCluster;
let ref: string;

const client = () => cluster.api.client;
const serving = (version: string) => ['sh', '-c', `mkdir -p /www && echo ${version} > /www/index.html && exec httpd -f -p 80 -h /www`];
type SvcStatus = { currentRevision?: string; updateRevision?: string; rollout?: { phase?: string; message?: string } };
const statusOf = async () => (await client().get<Service>(RESOURCES.services, 'app', namespace)).status as SvcStatus;

/** busybox plus a layer of 24 MiB of random bytes: big enough that pulling and unpacking it takes a visible moment. */
async function pushAppImage(): Promise<string> {
  const src = new ImageStore({ root: path.join(tmp, 'src') });
  const base = await importBusybox(src);
  const pack = tar.pack();
  pack.entry({ name: 'payload.bin', mode: 0o644 }, crypto.randomBytes(24 << 20));
  pack.finalize();
  const layer = await storeLayer(src, pack as unknown as Readable);
  const digest = await composeImage(src, { base: { manifest: src.getManifest(base), config: src.getConfig(base) }, layers: [layer] });
  src.addImage(digest);
  const name = `${registry.host}/svc/app:v2`;
  src.tag(name, digest);
  await pushImage(src, name);
  return name;
}

beforeAll(async () => {
  registry = await startRegistry();
  ref = await pushAppImage();
  cluster = await startCluster();
  await client().create(RESOURCES.namespaces, { metadata: { name: namespace } });
  const svc: KubeObject = {
    metadata: { name: 'app', namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'app' } },
      template: { metadata: { labels: { app: 'app' } }, spec: { image: 'busybox', command: serving('v1'), terminationGracePeriodSeconds: 1, readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 } } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    },
  };
  await client().create(RESOURCES.services, svc);
  await until(async () => (await statusOf()).rollout?.phase === 'Healthy', 45_000, 'v1 healthy');
}, 90_000);

afterAll(async () => {
  const stateDir = cluster && path.join(cluster.api.home, 'node');
  await cluster?.stop();
  await registry?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  expect((await cluster.runtime.list()).filter((s) => s.id.startsWith(`${namespace}.`))).toEqual([]);
  expect(fs.readFileSync('/proc/mounts', 'utf8')).not.toContain(stateDir);
  expect(() => process.kill(registry.pid, 0)).toThrow();
}, 60_000);

test('a rollout to a new image pre-pulls it on the node before any container of the revision starts', async () => {
  const v1 = (await statusOf()).currentRevision!;
  const messages = new Set<string>();
  /** Each sample reads the containers first, then the Image: a new container seen while the image is not held proves a start before the pre-pull ended. */
  const violations: string[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const containers = (await client().list<Container>(RESOURCES.containers, { namespace, labelSelector: 'app=app' })).items;
      const images = (await client().list<Image>(RESOURCES.images, { namespace })).items;
      const st = await statusOf();
      if (st.rollout?.message) messages.add(st.rollout.message);
      const fresh = containers.filter((c) => c.spec.image.startsWith(ref));
      const held = images.some((i) => i.spec.ref === ref && (i.status as { nodes?: string[] } | undefined)?.nodes?.includes(cluster.nodeName));
      if (fresh.length > 0 && !held) violations.push(fresh.map((c) => c.metadata.name).join(','));
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await client().patch(RESOURCES.services, 'app', { spec: { template: { spec: { image: ref, command: serving('v2') } } } }, { namespace });
  const done = await until(async () => {
    const st = await statusOf();
    return st.rollout?.phase === 'Healthy' && st.currentRevision !== v1 && st.currentRevision === st.updateRevision ? st : undefined;
  }, 60_000, 'v2 healthy').catch(async (err) => {
    throw new Error(`${(err as Error).message}: ${JSON.stringify(await statusOf())}`);
  });
  sampling = false;
  await sampler;

  expect([...messages].some((m) => m.startsWith(`pre-pulling ${ref}: 0 of 1 node(s) hold it, waiting for ${cluster.nodeName}`))).toBe(true);
  expect(violations).toEqual([]);
  const [image] = (await client().list<Image>(RESOURCES.images, { namespace })).items.filter((i) => i.spec.ref === ref);
  const digest = (image.status as { digest: string }).digest;
  expect(digest).toMatch(/^sha256:/);
  expect(image.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Service', name: 'app' });
  // Pulled and unpacked before the containers: they run the pinned digest, and the rollout's revision records it.
  const containers = (await client().list<Container>(RESOURCES.containers, { namespace, labelSelector: 'app=app' })).items.filter((c) => !c.metadata.deletionTimestamp);
  expect(containers.map((c) => c.spec.image)).toEqual([`${ref}@${digest}`, `${ref}@${digest}`]);
  const revisions = ((await client().get<Service>(RESOURCES.services, 'app', namespace)).status as { revisions: Array<{ name: string; images?: Record<string, string> }> }).revisions;
  expect(revisions.map((r) => r.name)).toEqual([v1, done.currentRevision]);
  expect(revisions[1].images).toEqual({ [ref]: digest });
  const reasons = (await client().list(RESOURCES.events, { namespace })).items.filter((e) => (e.involvedObject as { name: string }).name === 'app').map((e) => e.reason);
  expect(reasons).toEqual(expect.arrayContaining(['PrePulling', 'PrePulled']));
  const diffIds = cluster.images.getConfig(digest).rootfs.diff_ids;
  expect(diffIds.every((d) => fs.existsSync(cluster.images.layerDir(d)))).toBe(true);
}, 90_000);
