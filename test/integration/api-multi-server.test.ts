/** Two API servers on one etcd serve one cluster: writes, watches and CRDs made through one are seen through the other. */
import { RESOURCES } from '../../client';
import { startEtcd, type EtcdInstance } from '../helpers/etcd';
import { startApiServer, type TestApiServer } from '../helpers/apiserver';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('two API servers sharing one etcd', () => {
  let etcd: EtcdInstance;
  let a: TestApiServer;
  let b: TestApiServer;
  beforeAll(async () => {
    etcd = await startEtcd();
    const shared = { store: 'etcd' as const, etcdEndpoints: [etcd.endpoint], etcdPrefix: '/berth-shared' };
    a = await startApiServer(shared);
    b = await startApiServer(shared);
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
    await etcd.stop();
  });

  it('When one server is written to, Then the other reads it and its watchers see it', async () => {
    const events: string[] = [];
    const rv = (await b.client.list(RESOURCES.containers)).metadata.resourceVersion;
    const handle = await b.client.watch(RESOURCES.containers, { resourceVersion: rv }, (type, obj) => events.push(`${type}:${obj.metadata.name}`));
    await a.client.create(RESOURCES.containers, { metadata: { name: 'shared' }, spec: { image: 'busybox' } });
    expect((await b.client.get(RESOURCES.containers, 'shared')).metadata.name).toBe('shared');
    for (let i = 0; i < 50 && events.length === 0; i++) await sleep(100);
    handle.stop();
    expect(events).toEqual(['ADDED:shared']);
  });

  it('When a CRD is created through one server, Then the other serves the new kind', async () => {
    await a.client.create(RESOURCES.customResourceDefinitions, {
      metadata: { name: 'gadgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget', listKind: 'GadgetList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    });
    const gadgets = { group: 'example.com', version: 'v1', plural: 'gadgets', kind: 'Gadget', namespaced: true };
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await b.client.request('GET', b.client.path(gadgets, 'default'))).status;
      if (status !== 200) await sleep(100);
    }
    expect(status).toBe(200);
    await b.client.create(gadgets, { metadata: { name: 'g1' }, spec: { anything: true } });
    expect((await a.client.get(gadgets, 'g1')).kind).toBe('Gadget');
  });
});
