import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteStorage, StorageError, StoredObject, WatchEvent } from '../../../api/storage';
import { DecryptionError, EncryptingStorage, KeyRing, open, reencryptAll, seal, SEALED_FIELD } from '../../../api/encryption';

const SECRETS = '/registry/berth.dev/secrets/';
const CANARY = 'pa55w0rd-canary-7f3e';
const CANARY_B64 = Buffer.from(CANARY).toString('base64');

const secret = (ns: string, name: string, extra: Record<string, unknown> = {}): StoredObject => ({
  apiVersion: 'berth.dev/v1',
  kind: 'Secret',
  metadata: { name, namespace: ns, labels: { app: 'shop' } },
  type: 'Opaque',
  data: { password: CANARY_B64 },
  stringData: { note: `${CANARY}-string` },
  ...extra,
});

/** Every file of the store (the db, its -wal and -shm) as one latin1 string, to grep for plaintext. */
const rawStore = (dbPath: string): string =>
  fs
    .readdirSync(path.dirname(dbPath))
    .filter((f) => f.startsWith(path.basename(dbPath)))
    .map((f) => fs.readFileSync(path.join(path.dirname(dbPath), f)).toString('latin1'))
    .join('\n');

describe('encryption at rest', () => {
  let dir: string;
  let dbPath: string;
  let backend: SqliteStorage;
  let keys: KeyRing;
  let store: EncryptingStorage;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-enc-'));
    dbPath = path.join(dir, 'store.db');
    backend = new SqliteStorage(dbPath);
    keys = KeyRing.loadOrCreate(path.join(dir, 'encryption-keys.json'));
    store = new EncryptingStorage(backend, keys);
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('creates a key file with one active 256-bit key, mode 0600, and reuses it', () => {
    const file = path.join(dir, 'encryption-keys.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(keys.ids()).toHaveLength(1);
    expect(keys.activeKey().key).toHaveLength(32);
    expect(KeyRing.loadOrCreate(file).activeKey()).toEqual(keys.activeKey());
  });

  it('seals with AES-256-GCM bound to the storage key: tampering, moving and unknown keys all fail', () => {
    const aad = `${SECRETS}a/db`;
    const sealed = seal(Buffer.from(CANARY), aad, keys);
    expect(open(sealed, aad, keys).toString()).toBe(CANARY);
    const flip = (b64: string, at: number) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[at] ^= 1;
      return bytes.toString('base64');
    };
    expect(() => open({ ...sealed, ct: flip(sealed.ct, 0) }, aad, keys)).toThrow(DecryptionError);
    expect(() => open({ ...sealed, wrappedKey: flip(sealed.wrappedKey, 20) }, aad, keys)).toThrow(DecryptionError);
    expect(() => open({ ...sealed, iv: flip(sealed.iv, 0) }, aad, keys)).toThrow(DecryptionError);
    expect(() => open(sealed, `${SECRETS}a/other`, keys)).toThrow(DecryptionError);
    expect(() => open({ ...sealed, kid: 'nope' }, aad, keys)).toThrow('encryption key "nope" is not in the key file');
  });

  it('never writes a secret\'s payload in clear to the SQLite file or its WAL, and serves it decrypted', async () => {
    const created = await store.create(`${SECRETS}shop/db`, secret('shop', 'db'));
    expect(created).toMatchObject({ data: { password: CANARY_B64 }, stringData: { note: `${CANARY}-string` } });
    expect(created).not.toHaveProperty(SEALED_FIELD);
    await store.guaranteedUpdate(`${SECRETS}shop/db`, (o) => ({ ...o, data: { password: CANARY_B64, extra: CANARY_B64 } }));
    await store.create('/registry/berth.dev/containers/shop/web', { metadata: { name: 'web', namespace: 'shop' }, spec: { note: 'not-secret-visible' } });

    const raw = rawStore(dbPath);
    expect(raw).toContain('not-secret-visible'); // the grep does see what is stored in clear...
    expect(raw).toContain('"app":"shop"'); // ...including a secret's metadata...
    expect(raw).not.toContain(CANARY); // ...but never its payload, raw or base64
    expect(raw).not.toContain(CANARY_B64);

    const stored = await backend.get(`${SECRETS}shop/db`);
    expect(stored).not.toHaveProperty('data');
    expect(stored).not.toHaveProperty('stringData');
    expect(stored[SEALED_FIELD]).toMatchObject({ v: 1, kid: keys.activeKey().id });

    expect(await store.get(`${SECRETS}shop/db`)).toMatchObject({ data: { password: CANARY_B64, extra: CANARY_B64 } });
  });

  it('seals kubectl\'s last-applied-configuration annotation (it repeats the data) and restores it exactly', async () => {
    const lastApplied = JSON.stringify({ apiVersion: 'berth.dev/v1', kind: 'Secret', data: { password: CANARY_B64 } });
    const key = `${SECRETS}shop/applied`;
    const onlyThat = secret('shop', 'applied');
    onlyThat.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied };
    const created = await store.create(key, onlyThat);
    expect(created.metadata.annotations).toEqual({ 'kubectl.kubernetes.io/last-applied-configuration': lastApplied });
    expect((await backend.get(key)).metadata.annotations).toBeUndefined();

    const mixed = await store.guaranteedUpdate(key, (o) => ({
      ...o,
      metadata: { ...o.metadata, annotations: { ...(o.metadata.annotations as object), owner: 'team-shop' } },
    }));
    expect(mixed.metadata.annotations).toEqual({ owner: 'team-shop', 'kubectl.kubernetes.io/last-applied-configuration': lastApplied });
    expect((await backend.get(key)).metadata.annotations).toEqual({ owner: 'team-shop' });
    // Unchanged content writes nothing, annotations included.
    const again = await store.guaranteedUpdate(key, (o) => structuredClone(o));
    expect(again.metadata.resourceVersion).toBe(mixed.metadata.resourceVersion);
    expect(rawStore(dbPath)).not.toContain(CANARY_B64);
    expect(rawStore(dbPath)).toContain('team-shop');
  });

  it('lists (with predicates and pages) and watches decrypted objects', async () => {
    const events: WatchEvent[] = [];
    const watcher = await store.watch(SECRETS, { fromRevision: await store.currentRevision(), onEvent: (e) => void events.push(e) });
    for (const name of ['a', 'b', 'c']) await store.create(`${SECRETS}shop/${name}`, secret('shop', name));
    await store.create(`${SECRETS}other/a`, secret('other', 'a'));
    await store.guaranteedUpdate(`${SECRETS}shop/a`, (o) => ({ ...o, data: { password: 'bmV3' } }));
    await store.delete(`${SECRETS}shop/b`);

    const page1 = await store.list(`${SECRETS}shop/`, { limit: 1, predicate: (o) => (o.data as Record<string, string>).password === CANARY_B64 });
    expect(page1.items.map((o) => o.metadata.name)).toEqual(['c']);
    const all = await store.list(SECRETS);
    expect(all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}:${(o.data as Record<string, string>).password}`)).toEqual([
      `other/a:${CANARY_B64}`,
      'shop/a:bmV3',
      `shop/c:${CANARY_B64}`,
    ]);
    const root = await store.list('/registry/');
    expect(root.items).toHaveLength(3);
    expect(root.items.every((o) => !(SEALED_FIELD in o))).toBe(true);

    await new Promise((r) => setTimeout(r, 50));
    watcher.stop();
    expect(events.map((e) => `${e.type} ${e.object.metadata.namespace}/${e.object.metadata.name}`)).toEqual([
      'ADDED shop/a',
      'ADDED shop/b',
      'ADDED shop/c',
      'ADDED other/a',
      'MODIFIED shop/a',
      'DELETED shop/b',
    ]);
    expect(events[4].object.data).toEqual({ password: 'bmV3' });
    expect(events[4].prevObject?.data).toEqual({ password: CANARY_B64 });
    expect(events[5].object.data).toEqual({ password: CANARY_B64 });
    expect(events.every((e) => !(SEALED_FIELD in e.object))).toBe(true);
  });

  it('writes nothing when an update leaves the plaintext unchanged', async () => {
    const created = await store.create(`${SECRETS}shop/db`, secret('shop', 'db'));
    const same = await store.guaranteedUpdate(`${SECRETS}shop/db`, (o) => structuredClone(o));
    expect(same.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    const changed = await store.guaranteedUpdate(`${SECRETS}shop/db`, (o) => ({ ...o, stringData: { note: 'x' } }));
    expect(Number(changed.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
  });

  it('reports tampered or moved ciphertext as StorageError Invalid naming the secret, in get, list and watch', async () => {
    await store.create(`${SECRETS}shop/a`, secret('shop', 'a'));
    await store.create(`${SECRETS}shop/b`, secret('shop', 'b', { data: { password: 'b3RoZXI=' } }));
    const errors: StorageError[] = [];
    const watcher = await store.watch(`${SECRETS}shop/`, { fromRevision: await store.currentRevision(), onEvent: () => undefined, onError: (e) => errors.push(e) });

    // Someone with write access to the raw store copies a's ciphertext over b's (through the unencrypted backend).
    const a = await backend.get(`${SECRETS}shop/a`);
    await backend.guaranteedUpdate(`${SECRETS}shop/b`, (b) => ({ ...b, [SEALED_FIELD]: a[SEALED_FIELD] }));
    const getB = store.get(`${SECRETS}shop/b`);
    await expect(getB).rejects.toBeInstanceOf(StorageError);
    await expect(getB).rejects.toMatchObject({ code: 'Invalid', key: `${SECRETS}shop/b`, message: expect.stringContaining('cannot decrypt secret shop/b') });
    await expect(store.list(`${SECRETS}shop/`)).rejects.toMatchObject({ code: 'Invalid' });
    await new Promise((r) => setTimeout(r, 50));
    watcher.stop();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'Invalid', message: expect.stringContaining('shop/b') });

    // Flipping one ciphertext bit of a.
    await backend.guaranteedUpdate(`${SECRETS}shop/a`, (o) => {
      const sealed = o[SEALED_FIELD] as { ct: string };
      const ct = Buffer.from(sealed.ct, 'base64');
      ct[0] ^= 0x80;
      return { ...o, [SEALED_FIELD]: { ...sealed, ct: ct.toString('base64') } };
    });
    const getA = store.get(`${SECRETS}shop/a`);
    await expect(getA).rejects.toMatchObject({ code: 'Invalid', message: expect.stringContaining('failed authentication') });
    await expect(getA).rejects.not.toMatchObject({ message: expect.stringContaining(CANARY) });
  });

  it('rotates: a new active key, every secret re-encrypted under it, old keys prunable, data intact', async () => {
    // One secret from before encryption was turned on (stored in clear) is picked up too.
    await backend.create(`${SECRETS}legacy/old`, secret('legacy', 'old'));
    for (let i = 0; i < 5; i++) await store.create(`${SECRETS}shop/s${i}`, secret('shop', `s${i}`));
    const firstKey = keys.activeKey().id;

    // `berth secrets reencrypt` in another process: its own KeyRing on the same file rotates.
    const newKey = KeyRing.loadOrCreate(keys.file).rotate();
    expect(newKey).not.toBe(firstKey);
    expect(keys.activeKey().id).toBe(newKey); // the server's ring notices the file change
    expect(fs.statSync(keys.file).mode & 0o777).toBe(0o600);

    expect(await reencryptAll(store)).toBe(6);
    const stored = await backend.list(SECRETS);
    expect(stored.items.map((o) => (o[SEALED_FIELD] as { kid: string }).kid)).toEqual(Array(6).fill(newKey));
    keys.prune();
    expect(keys.ids()).toEqual([newKey]);
    const all = await store.list(SECRETS);
    expect(all.items.map((o) => (o.data as Record<string, string>).password)).toEqual(Array(6).fill(CANARY_B64));
  });
});
