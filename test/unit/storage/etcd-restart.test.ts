import * as fs from 'node:fs';
import { EtcdStorage, StorageError, StoredObject, WatchEvent } from '../../../api/storage';
import { EtcdInstance, startEtcd } from '../../helpers/etcd';

const retry = async <T>(op: () => Promise<T>, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await op();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
};

describe('EtcdStorage across an etcd crash', () => {
  let etcd: EtcdInstance;
  let store: EtcdStorage;
  beforeAll(async () => {
    etcd = await startEtcd();
    store = new EtcdStorage({ endpoints: [etcd.endpoint] });
  });
  afterAll(async () => {
    await store.close();
    await etcd.stop();
    expect(fs.existsSync(etcd.dataDir)).toBe(false);
  });

  it('keeps acknowledged writes and resumes a watch without losing or repeating events', async () => {
    const events: WatchEvent[] = [];
    const watcher = await store.watch('/registry/c/', { fromRevision: 0, onEvent: (e) => void events.push(e) });
    const obj = (name: string): StoredObject => ({ metadata: { name } });
    const a = await store.create('/registry/c/ns/a', obj('a'));
    const oldPid = etcd.pid;
    await etcd.restart();
    expect(etcd.pid).not.toBe(oldPid);
    expect((await retry(() => store.get('/registry/c/ns/a'))).metadata.resourceVersion).toBe(a.metadata.resourceVersion);
    // A create whose reply was lost in the restart may have landed: AlreadyExists then means done.
    await retry(() => store.create('/registry/c/ns/b', obj('b')).catch((e: StorageError) => (e.code === 'AlreadyExists' ? undefined : Promise.reject(e))));
    await retry(async () => {
      if (events.length < 2) throw new Error(`have ${events.length} events`);
    });
    watcher.stop();
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED a', 'ADDED b']);
  });
});
