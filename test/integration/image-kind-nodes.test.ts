/**
 * The node Image controller with two nodes' worth of controllers (each its own image store) against a real API
 * server and Debian's docker-registry on 127.0.0.1: per-node presence in status.nodes, pullPolicy Never, a node
 * that cannot get the image not clobbering another's Ready, and an agent restart that does not rebuild.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient, Image, KubeObject, RESOURCES } from '../../client';
import { findCondition } from '../../controllers/runtime';
import { ImageController } from '../../node-agent/agent/image-controller';
import { importBusybox, ImageStore, pushImage } from '../../node-agent/images';
import { BerthRuntime } from '../../node-agent/runtime';
import { startApiServer, TestApiServer } from '../helpers/apiserver';
import { startRegistry, TestRegistry } from '../helpers/registry';

const NS = 'default';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-image-nodes-'));

const until = async <T>(what: string, probe: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not met in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

describe('Image controller on several nodes', () => {
  let api: TestApiServer;
  let registry: TestRegistry;
  const stores: Record<string, ImageStore> = {};
  const controllers: Record<string, ImageController> = {};
  let busyboxDigest: string;

  const startNode = async (node: string) => {
    stores[node] ??= new ImageStore({ root: path.join(tmp, node) });
    controllers[node] = new ImageController({
      client: api.client,
      nodeName: node,
      store: stores[node],
      runtime: new BerthRuntime({ root: path.join(tmp, `${node}-runtime`) }),
      backoff: { initialMs: 300, maxMs: 600 },
    });
    await controllers[node].start();
  };

  beforeAll(async () => {
    api = await startApiServer();
    registry = await startRegistry();
    const src = new ImageStore({ root: path.join(tmp, 'src') });
    busyboxDigest = await importBusybox(src, `${registry.host}/nodes/busybox:1`);
    await pushImage(src, `${registry.host}/nodes/busybox:1`);
    await startNode('kind-node-a');
    await startNode('kind-node-b');
  }, 60_000);

  afterAll(async () => {
    for (const c of Object.values(controllers)) c.stop();
    await registry.stop();
    await api.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(fs.existsSync(tmp)).toBe(false);
  });

  const getImage = (name: string) => api.client.get<Image>(RESOURCES.images, name, NS);
  const createImage = (name: string, spec: Record<string, unknown>) => api.client.create(RESOURCES.images, { metadata: { name, namespace: NS }, spec });
  const eventsFor = async (name: string) =>
    (await api.client.list(RESOURCES.events, { namespace: NS })).items.filter((e) => (e.involvedObject as { name: string }).name === name) as Array<
      KubeObject & { reason?: string; count?: number; source?: { host?: string } }
    >;

  it('every node pulls the image into its own store and lists itself in status.nodes', async () => {
    const ref = `${registry.host}/nodes/busybox:1`;
    await createImage('shared', { ref });
    const img = await until('both nodes listed', async () => {
      const img = await getImage('shared');
      return (img.status?.nodes as string[] | undefined)?.length === 2 ? img : undefined;
    });
    expect(img.status?.nodes).toEqual(['kind-node-a', 'kind-node-b']);
    expect(img.status?.digest).toBe(busyboxDigest);
    expect(findCondition(img.status?.conditions, 'Ready')?.status).toBe('True');
    expect(stores['kind-node-a'].resolve(ref)).toBe(busyboxDigest);
    expect(stores['kind-node-b'].resolve(ref)).toBe(busyboxDigest);
    // Progress is throttled (2 s by default): a pull this short (a 1 MB layer over loopback) announces its blobs about
    // once per node, not per 64 kB chunk (two nodes may send the same line: then one Event counted twice).
    const progress = (await eventsFor('shared')).filter((e) => e.reason === 'Pulling' && /blobs/.test(String(e.message)));
    const announced = progress.reduce((n, e) => n + (e.count ?? 1), 0);
    expect(announced).toBeGreaterThanOrEqual(2);
    expect(announced).toBeLessThanOrEqual(4);
  });

  it('pullPolicy Never: ErrImageNeverPull until one node has it; the other node failing leaves Ready to the one that has it', async () => {
    const ref = 'berth-nodes/local-only:v1';
    await createImage('never', { ref, pullPolicy: 'Never' });
    const failed = await until('ErrImageNeverPull', async () => {
      const c = findCondition((await getImage('never')).status?.conditions, 'Ready');
      return c?.reason === 'ErrImageNeverPull' ? c : undefined;
    });
    expect(failed.status).toBe('False');
    expect(failed.message).toBe(`${ref} is not present on the node and pullPolicy is Never`);

    await importBusybox(stores['kind-node-a'], ref);
    const img = await until('Ready from node a', async () => {
      const img = await getImage('never');
      return findCondition(img.status?.conditions, 'Ready')?.status === 'True' ? img : undefined;
    });
    expect(img.status?.nodes).toEqual(['kind-node-a']);
    const retriesOfB = async () => (await eventsFor('never')).filter((e) => e.reason === 'ErrImageNeverPull' && e.source?.host === 'kind-node-b').reduce((n, e) => n + (e.count ?? 1), 0);
    const before = await retriesOfB();
    await until('node b retried', async () => (await retriesOfB()) > before);
    const after = await getImage('never');
    expect(findCondition(after.status?.conditions, 'Ready')?.status).toBe('True');
    expect(after.status?.phase).toBe('Ready');
    expect(findCondition(after.status?.conditions, 'Pulling')?.reason).toMatch(/^(ErrImageNeverPull|Completed)$/);
  });

  it.each([
    ['bad-ref', { ref: 'Not A Reference!' }, /^spec\.ref: /],
    ['pinned-build', { ref: `busybox@sha256:${'a'.repeat(64)}`, build: { context: '/nonexistent' } }, /pins a digest; .* must name a tag$/],
  ])('%s: Ready=False InvalidImageName, not retried', async (name, spec, message) => {
    await createImage(name, spec);
    const c = await until('InvalidImageName', async () => {
      const c = findCondition((await getImage(name)).status?.conditions, 'Ready');
      return c?.reason === 'InvalidImageName' ? c : undefined;
    });
    expect(c.status).toBe('False');
    expect(c.message).toMatch(message);
    await new Promise((r) => setTimeout(r, 1000)); // past the 300-600 ms back-off of other failures
    const warnings = (await eventsFor(name)).filter((e) => e.reason === 'InvalidImageName');
    expect(warnings.map((e) => e.count ?? 1)).toEqual([2]); // the same Event, counted once by each node, never repeated
  });

  it('an agent whose credentials may not list Images still starts (bounded wait), and serves no Image lookups', async () => {
    const refused = new ApiClient({ ...api.client.config, token: 'not-a-valid-token' });
    const controller = new ImageController({
      client: refused,
      nodeName: 'kind-node-refused',
      store: new ImageStore({ root: path.join(tmp, 'refused') }),
      runtime: new BerthRuntime({ root: path.join(tmp, 'refused-runtime') }),
      syncTimeoutMs: 300,
    });
    const started = Date.now();
    await controller.start();
    controller.stop();
    refused.close();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(controller.lookup(NS, 'shared')).toBeUndefined();
  });

  it('a restarted agent does not rebuild an image it already built for this generation', async () => {
    const node = 'kind-node-a';
    controllers['kind-node-b'].stop();
    delete controllers['kind-node-b'];
    await importBusybox(stores[node]);
    const context = path.join(tmp, 'ctx');
    fs.mkdirSync(context);
    fs.writeFileSync(path.join(context, 'f.txt'), 'x\n');
    fs.writeFileSync(path.join(context, 'Dockerfile'), 'FROM busybox\nCOPY f.txt /f.txt\n');
    await createImage('built-once', { ref: 'berth-nodes/built:v1', build: { context } });
    const built = await until('built', async () => {
      const img = await getImage('built-once');
      return findCondition(img.status?.conditions, 'Ready')?.status === 'True' ? img : undefined;
    });
    const steps = (await eventsFor('built-once')).filter((e) => e.reason === 'BuildStep').reduce((n, e) => n + (e.count ?? 1), 0);
    expect(steps).toBe(2);

    controllers[node].stop();
    await startNode(node);
    await new Promise((r) => setTimeout(r, 1500));
    const later = await getImage('built-once');
    expect(later.metadata.resourceVersion).toBe(built.metadata.resourceVersion);
    expect((await eventsFor('built-once')).filter((e) => e.reason === 'BuildStep').reduce((n, e) => n + (e.count ?? 1), 0)).toBe(2);
  });
});
