import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqliteFile, SqliteStorage, StoredObject } from '../../../api/storage';

const obj = (name: string, v = 0): StoredObject => ({ metadata: { name }, spec: { v } });
const rowCount = (file: string): number => {
  const db = openSqliteFile(file);
  try {
    return db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM log').get()!.n;
  } finally {
    db.close();
  }
};

describe('SqliteStorage specifics', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-sqlite-'));
    file = path.join(dir, 'berth.db');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('compaction removes superseded rows and tombstones but keeps every live state', async () => {
    const store = new SqliteStorage(file);
    for (let i = 0; i < 30; i++) await store.create(`/registry/x/ns/o${i}`, obj(`o${i}`));
    for (let round = 1; round <= 50; round++) {
      for (let i = 0; i < 20; i++) await store.guaranteedUpdate(`/registry/x/ns/o${i}`, (o) => ({ ...o, spec: { v: round } }));
    }
    for (let i = 20; i < 30; i++) await store.delete(`/registry/x/ns/o${i}`);
    const before = await store.list('/registry/x/');
    await store.compact(await store.currentRevision());
    expect((await store.list('/registry/x/')).items).toEqual(before.items);
    await store.close();
    expect(rowCount(file)).toBe(20);
  });

  it('never reuses a revision, even when compaction removed the newest row, and remembers what was compacted', async () => {
    const first = new SqliteStorage(file);
    await first.create('/registry/x/ns/a', obj('a'));
    const deleted = await first.delete('/registry/x/ns/a');
    await first.compact(Number(deleted.metadata.resourceVersion));
    await first.close();
    expect(rowCount(file)).toBe(0);

    const reopened = new SqliteStorage(file);
    try {
      expect(await reopened.currentRevision()).toBe(Number(deleted.metadata.resourceVersion));
      await expect(reopened.watch('/registry/x/', { fromRevision: 1, onEvent: () => undefined })).rejects.toMatchObject({ code: 'Gone' });
      const again = await reopened.create('/registry/x/ns/a', obj('a'));
      expect(Number(again.metadata.resourceVersion)).toBe(Number(deleted.metadata.resourceVersion) + 1);
    } finally {
      await reopened.close();
    }
  });

  it('compacts on its own when asked to keep the newest N revisions', async () => {
    const store = new SqliteStorage(file, { compaction: { intervalMs: 20, keepRevisions: 5 } });
    try {
      for (let i = 0; i < 20; i++) await store.create(`/registry/x/ns/o${i}`, obj(`o${i}`));
      const deadline = Date.now() + 5000;
      let gone = false;
      while (!gone && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        gone = await store.watch('/registry/x/', { fromRevision: 1, onEvent: () => undefined }).then(
          (w) => (w.stop(), false),
          (err: { code?: string }) => err.code === 'Gone',
        );
      }
      expect(gone).toBe(true);
      const recent = await store.watch('/registry/x/', { fromRevision: 15, onEvent: () => undefined });
      recent.stop();
    } finally {
      await store.close();
    }
  });

  it('refuses a second writer on the same file', async () => {
    const store = new SqliteStorage(file);
    try {
      await store.create('/registry/x/ns/a', obj('a'));
      expect(() => new SqliteStorage(file)).toThrow(expect.objectContaining({ code: 'Unavailable' }));
    } finally {
      await store.close();
    }
  });
});
