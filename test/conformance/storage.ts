/**
 * The storage conformance suite (k8s.io/apiserver `storagetesting` style): every backend and the watch cache run it,
 * so the API server can rely on one behaviour whatever it is wired to.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EtcdStorage, SqliteStorage, Storage, StorageError, StoredObject, WatchEvent, Watcher } from '../../api/storage';

export interface StoreFixture {
  readonly store: Storage;
  cleanup(): Promise<void>;
}

/**
 * A SQLite store in a fresh temp dir (optionally wrapped, e.g. by the watch cache, which may keep its own files in
 * `dir`); cleanup removes the dir.
 */
export function sqliteFixture(wrap: (backend: SqliteStorage, dir: string) => Storage = (b) => b): () => Promise<StoreFixture> {
  return async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-storage-'));
    const store = wrap(new SqliteStorage(path.join(dir, 'berth.db')), dir);
    return {
      store,
      async cleanup() {
        await store.close();
        fs.rmSync(dir, { recursive: true, force: true });
        expect(fs.existsSync(dir)).toBe(false);
      },
    };
  };
}

/** Objects agree with their keys (`/registry/<resource>/<namespace>/<name>`), as the API server lays them out. */
const newObject = (name: string, spec: Record<string, unknown> = {}, namespace = 'ns1'): StoredObject => ({
  apiVersion: 'berth.dev/v1',
  kind: 'Container',
  metadata: { name, namespace, uid: `uid-${name}` },
  spec,
  data: { token: Buffer.from(`secret of ${name}`).toString('base64') }, // what an encrypting wrapper seals
});

const rv = (obj: StoredObject): number => Number(obj.metadata.resourceVersion);

async function expectStorageError(promise: Promise<unknown>, code: StorageError['code']): Promise<StorageError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StorageError);
  expect((err as StorageError).code).toBe(code);
  return err as StorageError;
}

/** Records a watch's events; `next(n)` waits until n have arrived (or fails after a few seconds). */
class EventLog {
  readonly events: WatchEvent[] = [];
  errors: StorageError[] = [];
  private waiters: Array<() => void> = [];

  readonly onEvent = (e: WatchEvent): void => {
    this.events.push(e);
    this.wake();
  };
  readonly onError = (e: StorageError): void => {
    this.errors.push(e);
    this.wake();
  };

  async next(count: number, timeoutMs = 5000): Promise<WatchEvent[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${count} events, have ${this.events.length}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
    return this.events.slice(0, count);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }
}

const settle = (ms = 150): Promise<void> => new Promise((r) => setTimeout(r, ms));
const summary = (events: WatchEvent[]): string[] => events.map((e) => `${e.type} ${e.object.metadata.name}`);

/** Stores in one test etcd, each under its own key prefix so tests cannot see each other's keys. */
export function etcdFixture(endpoint: () => string, wrap: (backend: EtcdStorage) => Storage = (b) => b): () => Promise<StoreFixture> {
  let stores = 0;
  return async () => {
    const store = wrap(new EtcdStorage({ endpoints: [endpoint()], prefix: `/t${process.pid}-${++stores}` }));
    return { store, cleanup: () => store.close() };
  };
}

export function runStorageSuite(name: string, makeStore: () => Promise<StoreFixture>): void {
  describe(`storage conformance: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Storage;
    const watchers: Watcher[] = [];

    beforeEach(async () => {
      fixture = await makeStore();
      store = fixture.store;
    });
    afterEach(async () => {
      watchers.splice(0).forEach((w) => w.stop());
      await fixture.cleanup();
    });

    const watch = async (prefix: string, fromRevision: number): Promise<EventLog> => {
      const log = new EventLog();
      watchers.push(await store.watch(prefix, { fromRevision, onEvent: log.onEvent, onError: log.onError }));
      return log;
    };

    describe('create and get', () => {
      it('stores a new key, stamps resourceVersion, and leaves the input alone', async () => {
        const input = newObject('a', { image: 'busybox' });
        const before = await store.currentRevision();
        const created = await store.create('/registry/containers/ns1/a', input);
        expect(rv(created)).toBeGreaterThan(before);
        expect(created.spec).toEqual({ image: 'busybox' });
        expect(input.metadata.resourceVersion).toBeUndefined();
        expect(await store.currentRevision()).toBe(rv(created));
        const got = await store.get('/registry/containers/ns1/a');
        expect(got).toEqual(created);
      });

      it('refuses to create an existing key (naming its revision) and reports a missing one', async () => {
        const existing = await store.create('/registry/containers/ns1/a', newObject('a'));
        const refused = await expectStorageError(store.create('/registry/containers/ns1/a', newObject('a')), 'AlreadyExists');
        expect(refused.revision).toBe(rv(existing));
        expect(await store.get('/registry/containers/ns1/a')).toEqual(existing);
        await expectStorageError(store.get('/registry/containers/ns1/missing'), 'NotFound');
      });

      it('gives every write a higher revision than the one before', async () => {
        const revs: number[] = [];
        for (const n of ['a', 'b', 'c']) revs.push(rv(await store.create(`/registry/containers/ns1/${n}`, newObject(n))));
        revs.push(rv(await store.guaranteedUpdate('/registry/containers/ns1/a', (o) => ({ ...o, spec: { v: 1 } }))));
        revs.push(rv(await store.delete('/registry/containers/ns1/b')));
        expect([...revs].sort((x, y) => x - y)).toEqual(revs);
        expect(new Set(revs).size).toBe(revs.length);
      });
    });

    describe('list', () => {
      it('returns only keys under the prefix, in key order, at the newest revision', async () => {
        for (const key of ['/registry/containers/ns1/b', '/registry/containers/ns1/a', '/registry/containers/ns10/c', '/registry/containersx/ns1/d']) {
          const [, , , namespace, name] = key.split('/');
          await store.create(key, newObject(name, {}, namespace));
        }
        const ns1 = await store.list('/registry/containers/ns1/');
        expect(ns1.items.map((o) => o.metadata.name)).toEqual(['a', 'b']);
        expect(ns1.continue).toBeUndefined();
        expect(ns1.revision).toBe(await store.currentRevision());
        const all = await store.list('/registry/containers/');
        expect(all.items.map((o) => o.metadata.name)).toEqual(['a', 'b', 'c']);
        expect((await store.list('/registry/nothing/')).items).toEqual([]);
      });

      it('pages with continue at the first page revision, ignoring later writes', async () => {
        for (let i = 0; i < 7; i++) await store.create(`/registry/containers/ns1/o${i}`, newObject(`o${i}`, { v: i }));
        const page1 = await store.list('/registry/containers/', { limit: 3 });
        expect(page1.items.map((o) => o.metadata.name)).toEqual(['o0', 'o1', 'o2']);
        expect(page1.continue).toEqual(expect.any(String));

        await store.guaranteedUpdate('/registry/containers/ns1/o4', (o) => ({ ...o, spec: { v: 'changed' } }));
        await store.delete('/registry/containers/ns1/o5');
        await store.create('/registry/containers/ns1/o9', newObject('o9'));

        const page2 = await store.list('/registry/containers/', { limit: 3, continue: page1.continue });
        expect(page2.revision).toBe(page1.revision);
        expect(page2.items.map((o) => o.metadata.name)).toEqual(['o3', 'o4', 'o5']);
        expect(page2.items[1].spec).toEqual({ v: 4 });
        const page3 = await store.list('/registry/containers/', { limit: 3, continue: page2.continue });
        expect(page3.items.map((o) => o.metadata.name)).toEqual(['o6']);
        expect(page3.continue).toBeUndefined();

        const fresh = await store.list('/registry/containers/');
        expect(fresh.items.map((o) => o.metadata.name)).toEqual(['o0', 'o1', 'o2', 'o3', 'o4', 'o6', 'o9']);
      });

      it('leaves out deleted keys and shows re-created ones in their new state, on every page', async () => {
        for (let i = 0; i < 6; i++) await store.create(`/registry/containers/ns1/o${i}`, newObject(`o${i}`, { v: 1 }));
        await store.delete('/registry/containers/ns1/o1');
        await store.delete('/registry/containers/ns1/o3');
        await store.create('/registry/containers/ns1/o3', newObject('o3', { v: 2 }));
        for (const limit of [1, 2, 100]) {
          const seen: StoredObject[] = [];
          let page = await store.list('/registry/containers/', { limit });
          seen.push(...page.items);
          while (page.continue) {
            page = await store.list('/registry/containers/', { limit, continue: page.continue });
            seen.push(...page.items);
          }
          expect(seen.map((o) => `${o.metadata.name}:${(o.spec as { v: number }).v}`)).toEqual(['o0:1', 'o2:1', 'o3:2', 'o4:1', 'o5:1']);
        }
      });

      it('reads at an exact past revision when asked, and refuses compacted or future ones', async () => {
        const a = await store.create('/registry/containers/ns1/a', newObject('a', { v: 1 }));
        await store.guaranteedUpdate('/registry/containers/ns1/a', (o) => ({ ...o, spec: { v: 2 } }));
        await store.create('/registry/containers/ns1/b', newObject('b'));
        const past = await store.list('/registry/containers/', { revision: rv(a) });
        expect(past.revision).toBe(rv(a));
        expect(past.items.map((o) => `${o.metadata.name}:${(o.spec as { v?: number }).v}`)).toEqual(['a:1']);
        await expectStorageError(store.list('/registry/containers/', { revision: (await store.currentRevision()) + 100 }), 'TooLargeResourceVersion');
        await store.compact(await store.currentRevision());
        await expectStorageError(store.list('/registry/containers/', { revision: rv(a) }), 'Gone');
      });

      it('applies the predicate before counting the limit', async () => {
        for (let i = 0; i < 10; i++) await store.create(`/registry/containers/ns1/o${i}`, newObject(`o${i}`, { even: i % 2 === 0 }));
        const predicate = (o: StoredObject): boolean => (o.spec as { even: boolean }).even;
        const page1 = await store.list('/registry/containers/', { limit: 2, predicate });
        expect(page1.items.map((o) => o.metadata.name)).toEqual(['o0', 'o2']);
        const page2 = await store.list('/registry/containers/', { limit: 2, predicate, continue: page1.continue });
        expect(page2.items.map((o) => o.metadata.name)).toEqual(['o4', 'o6']);
        const page3 = await store.list('/registry/containers/', { limit: 2, predicate, continue: page2.continue });
        expect(page3.items.map((o) => o.metadata.name)).toEqual(['o8']);
        expect(page3.continue).toBeUndefined();
      });

      it('rejects a garbled continue token and one from another prefix', async () => {
        for (let i = 0; i < 3; i++) await store.create(`/registry/containers/ns1/o${i}`, newObject(`o${i}`));
        await expectStorageError(store.list('/registry/containers/', { limit: 1, continue: 'not-a-token' }), 'BadRequest');
        const page = await store.list('/registry/containers/', { limit: 1 });
        await expectStorageError(store.list('/registry/images/', { limit: 1, continue: page.continue }), 'BadRequest');
      });

      it('answers Gone for a continue token whose revision was compacted', async () => {
        for (let i = 0; i < 3; i++) await store.create(`/registry/containers/ns1/o${i}`, newObject(`o${i}`));
        const page = await store.list('/registry/containers/', { limit: 1 });
        await store.guaranteedUpdate('/registry/containers/ns1/o1', (o) => ({ ...o, spec: { v: 2 } }));
        await store.compact(await store.currentRevision());
        await expectStorageError(store.list('/registry/containers/', { limit: 1, continue: page.continue }), 'Gone');
        expect((await store.list('/registry/containers/')).items).toHaveLength(3);
      });
    });

    describe('guaranteedUpdate', () => {
      const key = '/registry/containers/ns1/a';

      it('writes the new state with a new resourceVersion', async () => {
        const created = await store.create(key, newObject('a', { v: 1 }));
        const updated = await store.guaranteedUpdate(key, (o) => ({ ...o, spec: { v: 2 } }));
        expect(rv(updated)).toBeGreaterThan(rv(created));
        expect(await store.get(key)).toEqual(updated);
      });

      it('checks resourceVersion and uid preconditions without calling tryUpdate', async () => {
        const created = await store.create(key, newObject('a'));
        const tryUpdate = jest.fn((o: StoredObject) => ({ ...o, spec: { v: 2 } }));
        await expectStorageError(store.guaranteedUpdate(key, tryUpdate, { resourceVersion: String(rv(created) - 1) }), 'Conflict');
        await expectStorageError(store.guaranteedUpdate(key, tryUpdate, { uid: 'someone-else' }), 'Conflict');
        expect(tryUpdate).not.toHaveBeenCalled();
        const ok = await store.guaranteedUpdate(key, tryUpdate, { resourceVersion: created.metadata.resourceVersion, uid: 'uid-a' });
        expect(ok.spec).toEqual({ v: 2 });
      });

      it('reports NotFound and passes a tryUpdate error through unchanged', async () => {
        await expectStorageError(store.guaranteedUpdate(key, (o) => o), 'NotFound');
        await store.create(key, newObject('a'));
        const abort = new Error('validation failed');
        await expect(store.guaranteedUpdate(key, () => Promise.reject(abort))).rejects.toBe(abort);
      });

      it('writes nothing for an update that changes nothing', async () => {
        const created = await store.create(key, newObject('a', { v: 1, list: [1, 2] }));
        const before = await store.currentRevision();
        const log = await watch(key, 0);
        const same = await store.guaranteedUpdate(key, (o) => JSON.parse(JSON.stringify(o)) as StoredObject);
        expect(same.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
        expect(await store.currentRevision()).toBe(before);
        await settle();
        expect(log.events).toEqual([]);
      });

      it('loses no update among 32 concurrent increments', async () => {
        await store.create(key, newObject('a', { count: 0 }));
        const increment = async (): Promise<number> => {
          const out = await store.guaranteedUpdate(key, async (o) => {
            await settle(Math.random() * 5); // widen the read→write window so the racers really collide
            const count = (o.spec as { count: number }).count;
            return { ...o, spec: { count: count + 1 } };
          });
          return (out.spec as { count: number }).count;
        };
        const results = await Promise.all(Array.from({ length: 32 }, increment));
        expect(new Set(results).size).toBe(32);
        expect(((await store.get(key)).spec as { count: number }).count).toBe(32);
      });
    });

    describe('delete', () => {
      const key = '/registry/containers/ns1/a';

      it('removes the key and returns its last state at the deletion revision', async () => {
        const created = await store.create(key, newObject('a', { v: 1 }));
        const deleted = await store.delete(key);
        expect(deleted.spec).toEqual({ v: 1 });
        expect(rv(deleted)).toBeGreaterThan(rv(created));
        expect(rv(deleted)).toBe(await store.currentRevision());
        await expectStorageError(store.get(key), 'NotFound');
        await expectStorageError(store.delete(key), 'NotFound');
        expect((await store.list('/registry/containers/')).items).toEqual([]);
        const again = await store.create(key, newObject('a', { v: 2 }));
        expect(again.spec).toEqual({ v: 2 });
      });

      it('honours resourceVersion and uid preconditions', async () => {
        const created = await store.create(key, newObject('a'));
        await expectStorageError(store.delete(key, { resourceVersion: String(rv(created) + 1000) }), 'Conflict');
        await expectStorageError(store.delete(key, { uid: 'other' }), 'Conflict');
        expect(await store.get(key)).toEqual(created);
        await store.delete(key, { resourceVersion: created.metadata.resourceVersion, uid: 'uid-a' });
        await expectStorageError(store.get(key), 'NotFound');
      });
    });

    describe('watch', () => {
      it('from 0 delivers later writes in order; DELETED carries the last state', async () => {
        const log = await watch('/registry/containers/', 0);
        const created = await store.create('/registry/containers/ns1/a', newObject('a', { v: 1 }));
        const updated = await store.guaranteedUpdate('/registry/containers/ns1/a', (o) => ({ ...o, spec: { v: 2 } }));
        const deleted = await store.delete('/registry/containers/ns1/a');
        const events = await log.next(3);
        expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
        expect(events.map((e) => e.key)).toEqual(Array(3).fill('/registry/containers/ns1/a'));
        expect(events.map((e) => e.revision)).toEqual([rv(created), rv(updated), rv(deleted)]);
        expect(events[0].object).toEqual(created);
        expect(events[1].object).toEqual(updated);
        expect(events[1].prevObject).toEqual(created);
        expect(events[2].object.spec).toEqual({ v: 2 });
        expect(events[2].object.metadata.resourceVersion).toBe(String(rv(deleted)));
        expect(events[2].prevObject?.metadata.resourceVersion).toBe(String(rv(updated)));
      });

      it('from a past revision replays the history after it, then continues live', async () => {
        await watch('/registry/', 0); // a watch already running: a watch cache replays what follows from memory
        const first = await store.create('/registry/containers/ns1/a', newObject('a'));
        const b = await store.create('/registry/containers/ns1/b', newObject('b'));
        const a2 = await store.guaranteedUpdate('/registry/containers/ns1/a', (o) => ({ ...o, spec: { v: 2 } }));
        const goneB = await store.delete('/registry/containers/ns1/b');
        const log = await watch('/registry/containers/', rv(first));
        await store.create('/registry/containers/ns1/c', newObject('c'));
        const events = await log.next(4);
        expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED b', 'MODIFIED a', 'DELETED b', 'ADDED c']);
        // Replayed objects are the states the writes returned (a cache keeps them compactly and decodes them again).
        expect(events.slice(0, 3).map((e) => [e.object, e.prevObject])).toEqual([
          [b, undefined],
          [a2, first],
          [goneB, b],
        ]);
        const revs = events.map((e) => e.revision);
        expect(revs[0]).toBeGreaterThan(rv(first));
        expect([...revs].sort((x, y) => x - y)).toEqual(revs);
        await settle();
        expect(log.events).toHaveLength(4);
      });

      it('keeps prefixes apart and an exact-key watch to its key', async () => {
        const prefixLog = await watch('/registry/containers/ns1/', 0);
        const keyLog = await watch('/registry/containers/ns1/a', 0);
        await store.create('/registry/containers/ns10/x', newObject('x', {}, 'ns10'));
        await store.create('/registry/containers/ns1/ab', newObject('ab'));
        await store.create('/registry/containers/ns1/a', newObject('a'));
        await store.create('/registry/images/ns1/img', newObject('img'));
        expect(summary(await keyLog.next(1))).toEqual(['ADDED a']);
        expect(summary(await prefixLog.next(2))).toEqual(['ADDED ab', 'ADDED a']);
        await settle();
        expect(keyLog.events).toHaveLength(1);
        expect(prefixLog.events).toHaveLength(2);
      });

      it('answers Gone for a revision that was compacted', async () => {
        const first = await store.create('/registry/containers/ns1/a', newObject('a'));
        await store.guaranteedUpdate('/registry/containers/ns1/a', (o) => ({ ...o, spec: { v: 2 } }));
        await store.guaranteedUpdate('/registry/containers/ns1/a', (o) => ({ ...o, spec: { v: 3 } }));
        const newest = await store.currentRevision();
        await store.compact(newest);
        await expectStorageError(store.watch('/registry/containers/', { fromRevision: rv(first), onEvent: () => undefined }), 'Gone');
        // Watching from the compacted revision itself is still whole.
        const log = await watch('/registry/containers/', newest);
        await store.delete('/registry/containers/ns1/a');
        expect(summary(await log.next(1))).toEqual(['DELETED a']);
      });

      it('reports progress: at least the last delivered revision, never beyond the store', async () => {
        const log = new EventLog();
        const watcher = await store.watch('/registry/containers/', { fromRevision: 0, onEvent: log.onEvent });
        watchers.push(watcher);
        expect(watcher.progress).toEqual(expect.any(Function));
        const created = await store.create('/registry/containers/ns1/a', newObject('a'));
        await log.next(1);
        expect(watcher.progress!()).toBeGreaterThanOrEqual(rv(created));
        await store.create('/registry/images/ns1/b', newObject('b'));
        await settle(50);
        expect(watcher.progress!()).toBeGreaterThanOrEqual(rv(created));
        expect(watcher.progress!()).toBeLessThanOrEqual(await store.currentRevision());
      });

      it('stops delivering after stop()', async () => {
        const log = new EventLog();
        const watcher = await store.watch('/registry/containers/', { fromRevision: 0, onEvent: log.onEvent });
        await store.create('/registry/containers/ns1/a', newObject('a'));
        await log.next(1);
        watcher.stop();
        watcher.stop();
        await store.create('/registry/containers/ns1/b', newObject('b'));
        await settle(300);
        expect(summary(log.events)).toEqual(['ADDED a']);
      });

      it('waits for a handler that returns a promise before the next event', async () => {
        const seen: string[] = [];
        let busy = false;
        watchers.push(
          await store.watch('/registry/containers/', {
            fromRevision: 0,
            onEvent: async (e) => {
              expect(busy).toBe(false);
              busy = true;
              await settle(10);
              seen.push(e.object.metadata.name!);
              busy = false;
            },
          }),
        );
        for (const n of ['a', 'b', 'c']) await store.create(`/registry/containers/ns1/${n}`, newObject(n));
        for (let i = 0; i < 50 && seen.length < 3; i++) await settle(20);
        expect(seen).toEqual(['a', 'b', 'c']);
      });
    });
  });
}
