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

describe('EtcdStorage when things go wrong', () => {
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

  it('ends with Gone a watch whose start etcd compacted after the up-front check', async () => {
    const first = await store.create('/registry/g/ns/a', { metadata: { name: 'a' } });
    await store.guaranteedUpdate('/registry/g/ns/a', (o) => ({ ...o, spec: { v: 2 } }));
    await store.guaranteedUpdate('/registry/g/ns/a', (o) => ({ ...o, spec: { v: 3 } }));
    await store.compact(await store.currentRevision()); // two revisions past `first`: etcd itself refuses first + 1
    // Lose the race on purpose: the check before creating the watch passes, etcd then cancels the watch.
    const internals = store as unknown as { assertNotCompacted(prefix: string, rev: number): Promise<void> };
    const check = internals.assertNotCompacted.bind(store);
    internals.assertNotCompacted = () => {
      internals.assertNotCompacted = check;
      return Promise.resolve();
    };
    const errors: StorageError[] = [];
    await store.watch('/registry/g/', { fromRevision: Number(first.metadata.resourceVersion), onEvent: () => undefined, onError: (e) => void errors.push(e) });
    await retry(async () => {
      if (errors.length === 0) throw new Error('no error yet');
    });
    expect(errors.map((e) => e.code)).toEqual(['Gone']);
  });
});
