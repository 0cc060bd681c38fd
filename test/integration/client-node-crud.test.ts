/**
 * @kubernetes/client-node 2.x (ESM-only) against Berth: a child `node` process runs the script below
 * (KubernetesObjectApi CRUD, Watch, makeInformer) and prints one JSON line that this test asserts.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { STORES, startApiServer, type TestApiServer } from '../helpers/apiserver';

const run = promisify(execFile);

const SCRIPT = String.raw`
import * as k8s from '@kubernetes/client-node';
const kc = new k8s.KubeConfig();
kc.loadFromFile(process.env.BERTH_KUBECONFIG);
const api = k8s.KubernetesObjectApi.makeApiClient(kc);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ref = { apiVersion: 'berth.dev/v1', kind: 'Container', metadata: { name: 'cn-1', namespace: 'default' } };
const out = { watched: [], informed: [] };

const watch = new k8s.Watch(kc);
const controller = await watch.watch('/apis/berth.dev/v1/namespaces/default/containers', {},
  (type, obj) => out.watched.push(type + ':' + obj.metadata.name), () => {});
const informer = k8s.makeInformer(kc, '/apis/berth.dev/v1/namespaces/default/containers',
  () => api.list('berth.dev/v1', 'Container', 'default'));
informer.on('add', (o) => out.informed.push('add:' + o.metadata.name));
informer.on('update', (o) => out.informed.push('update:' + o.metadata.name));
informer.on('delete', (o) => out.informed.push('delete:' + o.metadata.name));
await informer.start();
await sleep(300);

const created = await api.create({ ...ref, spec: { image: 'busybox' } });
out.createdUid = created.metadata.uid;
const read = await api.read(ref);
out.readImage = read.spec.image;
read.spec.image = 'busybox:1.37';
const replaced = await api.replace(read);
out.replacedGeneration = replaced.metadata.generation;
const patched = await api.patch({ ...ref, metadata: { ...ref.metadata, labels: { tier: 'web' } } }, undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
out.patchedLabel = patched.metadata.labels.tier;
const listed = await api.list('berth.dev/v1', 'Container', 'default');
out.listed = listed.items.map((i) => i.metadata.name);
await api.delete(ref);
try { await api.read(ref); out.afterDelete = 'still there'; } catch (e) { out.afterDelete = e.code; }
await sleep(500);
out.cached = informer.list('default').map((o) => o.metadata.name);
controller.abort();
await informer.stop();
console.log(JSON.stringify(out));
process.exit(0);
`;

describe.each(STORES)('@kubernetes/client-node against Berth on %s', (store) => {
  let api: TestApiServer;
  beforeAll(async () => {
    api = await startApiServer({ store });
  });
  afterAll(async () => {
    await api.stop();
  });

  it('When an operator uses KubernetesObjectApi, Watch and makeInformer, Then CRUD works and both see every change', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', SCRIPT], {
      cwd: path.resolve(__dirname, '../..'),
      env: { ...process.env, BERTH_KUBECONFIG: api.kubeconfigPath, NODE_EXTRA_CA_CERTS: '' },
      timeout: 60_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    expect(out.createdUid).toMatch(/^[0-9a-f-]{36}$/);
    expect(out.readImage).toBe('busybox');
    expect(out.replacedGeneration).toBe(2);
    expect(out.patchedLabel).toBe('web');
    expect(out.listed).toEqual(['cn-1']);
    expect(out.afterDelete).toBe(404);
    expect(out.watched).toEqual(['ADDED:cn-1', 'MODIFIED:cn-1', 'MODIFIED:cn-1', 'DELETED:cn-1']);
    expect(out.informed).toEqual(['add:cn-1', 'update:cn-1', 'update:cn-1', 'delete:cn-1']);
    expect(out.cached).toEqual([]);
  });
});
