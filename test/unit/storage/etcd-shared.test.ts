import * as fs from 'node:fs';
import { EtcdStorage, StoredObject, WatchEvent } from '../../../api/storage';
import { EtcdInstance, startEtcd } from '../../helpers/etcd';

/** Two API servers on one etcd: their writes race through etcd's compare-and-swap and each sees the other's. */
describe('EtcdStorage shared by two clients', () => {
  let etcd: EtcdInstance;
  let a: EtcdStorage;
  let b: EtcdStorage;

  beforeAll(async () => {
    etcd = await startEtcd();
    a = new EtcdStorage({ endpoints: [etcd.endpoint], prefix: '/shared' });
    b = new EtcdStorage({ endpoints: [etcd.endpoint], prefix: '/shared' });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
    await etcd.stop();
    expect(fs.existsSync(etcd.dataDir)).toBe(false);
  });

  it('loses no increment when both clients update one key concurrently', async () => {
    const key = '/registry/counters/ns/c';
    await a.create(key, { metadata: { name: 'c' }, spec: { count: 0 } });
    const increment = (store: EtcdStorage) =>
      store.guaranteedUpdate(key, async (o: StoredObject) => {
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        return { ...o, spec: { count: (o.spec as { count: number }).count + 1 } };
      });
    await Promise.all(Array.from({ length: 32 }, (_, i) => increment(i % 2 ? a : b)));
    expect(((await b.get(key)).spec as { count: number }).count).toBe(32);
  });

  it('delivers one client writes to the other client watch, and lets either create only once', async () => {
    const events: WatchEvent[] = [];
    const watcher = await b.watch('/registry/things/', { fromRevision: 0, onEvent: (e) => void events.push(e) });
    const results = await Promise.allSettled([
      a.create('/registry/things/ns/x', { metadata: { name: 'x' } }),
      b.create('/registry/things/ns/x', { metadata: { name: 'x' } }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const deadline = Date.now() + 5000;
    while (events.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    watcher.stop();
    expect(events.map((e) => `${e.type} ${e.key}`)).toEqual(['ADDED /registry/things/ns/x']);
  });
});
