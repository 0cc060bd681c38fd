import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CachedStorage, CachedStorageOptions, SqliteStorage, StorageError, StoredObject, WatchEvent, Watcher } from '../../../api/storage';

const obj = (name: string, spec: Record<string, unknown> = {}): StoredObject => ({ metadata: { name, namespace: 'ns' }, spec });
const until = async (cond: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('CachedStorage', () => {
  let dir: string;
  let backend: SqliteStorage;
  let cache: CachedStorage;
  let backendWatches: number;
  const watchers: Watcher[] = [];

  const open = (options: CachedStorageOptions = {}): void => {
    backend = new SqliteStorage(path.join(dir, 'berth.db'));
    const watch = backend.watch.bind(backend);
    backend.watch = (prefix, opts) => {
      backendWatches++;
      return watch(prefix, opts);
    };
    cache = new CachedStorage(backend, options);
  };
  const collect = async (prefix: string, fromRevision: number): Promise<WatchEvent[]> => {
    const events: WatchEvent[] = [];
    watchers.push(await cache.watch(prefix, { fromRevision, onEvent: (e) => void events.push(e) }));
    return events;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-cacher-'));
    backendWatches = 0;
  });
  afterEach(async () => {
    watchers.splice(0).forEach((w) => w.stop());
    await cache.close();
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('serves a watch from a revision inside its window without asking the backend', async () => {
    open({ bufferSize: 100 });
    const live = await collect('/registry/', 0); // starts the single upstream watch
    const first = await cache.create('/registry/x/ns/a', obj('a'));
    await cache.create('/registry/x/ns/b', obj('b'));
    await cache.create('/registry/y/ns/c', obj('c'));
    await cache.guaranteedUpdate('/registry/x/ns/a', (o) => ({ ...o, spec: { v: 2 } }));
    await until(() => live.length === 4); // the cache has seen every write
    const replayed = await collect('/registry/x/', Number(first.metadata.resourceVersion));
    await until(() => replayed.length === 2);
    expect(replayed.map((e) => `${e.type} ${e.key}`)).toEqual(['ADDED /registry/x/ns/b', 'MODIFIED /registry/x/ns/a']);
    expect(backendWatches).toBe(1);
  });

  it('advances a quiet watcher progress past writes it does not match (bookmarks stay fresh)', async () => {
    open();
    const watcher = await cache.watch('/registry/quiet/', { fromRevision: 0, onEvent: () => undefined });
    watchers.push(watcher);
    const busy = await collect('/registry/busy/', 0);
    for (let i = 0; i < 3; i++) await cache.create(`/registry/busy/ns/o${i}`, obj(`o${i}`));
    await until(() => busy.length === 3);
    expect(watcher.progress!()).toBe(busy[2].revision);
  });

  it('sends a watch older than its window to the backend, which replays it', async () => {
    open({ bufferSize: 2 });
    await collect('/registry/x/', 0);
    const first = await cache.create('/registry/x/ns/a', obj('a'));
    for (const n of ['b', 'c', 'd']) await cache.create(`/registry/x/ns/${n}`, obj(n));
    const replayed = await collect('/registry/x/', Number(first.metadata.resourceVersion));
    await until(() => replayed.length === 3);
    expect(replayed.map((e) => e.object.metadata.name)).toEqual(['b', 'c', 'd']);
    expect(backendWatches).toBe(2);
  });

  it('ends a watcher that cannot keep up and keeps feeding the others', async () => {
    open({ watcherCapacity: 5 });
    const errors: StorageError[] = [];
    watchers.push(
      await cache.watch('/registry/x/', {
        fromRevision: 0,
        onEvent: () => new Promise<void>(() => undefined), // never finishes handling the first event
        onError: (e) => void errors.push(e),
      }),
    );
    const healthy = await collect('/registry/x/', 0);
    for (let i = 0; i < 20; i++) await cache.create(`/registry/x/ns/o${i}`, obj(`o${i}`));
    await until(() => healthy.length === 20 && errors.length === 1);
    expect(errors[0].code).toBe('Unavailable');
    expect(cache.watcherCount).toBe(1);
  });

  it('costs an event only the watchers whose prefix or key matches', async () => {
    open();
    const calls = new Array<number>(1000).fill(0);
    for (let i = 0; i < 1000; i++) {
      const prefix = i % 2 === 0 ? `/registry/x/ns${i}/` : `/registry/x/ns${i - 1}/o`;
      watchers.push(await cache.watch(prefix, { fromRevision: 0, onEvent: () => void calls[i]++ }));
    }
    await cache.create('/registry/x/ns10/o', obj('o'));
    await cache.create('/registry/x/ns10/other', obj('other'));
    await until(() => calls[10] === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls[11]).toBe(1);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it('ends every watcher when the upstream watch fails, then starts a fresh one', async () => {
    open();
    const errors: StorageError[] = [];
    watchers.push(await cache.watch('/registry/x/', { fromRevision: 0, onEvent: () => undefined, onError: (e) => void errors.push(e) }));
    await backend.close(); // the upstream watch ends with Unavailable
    await until(() => errors.length === 1);
    expect(errors[0].code).toBe('Unavailable');
    expect(cache.watcherCount).toBe(0);
    await expect(cache.watch('/registry/x/', { fromRevision: 0, onEvent: () => undefined })).rejects.toMatchObject({ code: 'Unavailable' });
  });
});
