/** With the etcd backend too, a secret's plaintext reaches neither etcd's WAL nor its bbolt database. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { EtcdStorage } from '../../../api/storage';
import { EncryptingStorage, KeyRing, SEALED_FIELD } from '../../../api/encryption';
import { startEtcd, EtcdInstance } from '../../helpers/etcd';

const CANARY = 'etcd-s3cret-canary-4d1a';
const CANARY_B64 = Buffer.from(CANARY).toString('base64');

/** Every file under `dir`, concatenated as latin1, for a plaintext grep. */
const rawTree = (dir: string): string =>
  fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath ?? e.path, e.name)).toString('latin1'))
    .join('\n');

describe('encryption at rest over etcd', () => {
  let etcd: EtcdInstance;
  let keysDir: string;

  beforeAll(async () => {
    etcd = await startEtcd();
    keysDir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-enc-etcd-'));
  });

  afterAll(async () => {
    await etcd.stop();
    fs.rmSync(keysDir, { recursive: true, force: true });
    expect(fs.existsSync(etcd.dataDir)).toBe(false);
    expect(fs.existsSync(keysDir)).toBe(false);
  });

  it('stores only ciphertext in etcd and reads the secret back decrypted', async () => {
    const backend = new EtcdStorage({ endpoints: [etcd.endpoint], prefix: `/berth-enc-${process.pid}` });
    const store = new EncryptingStorage(backend, KeyRing.loadOrCreate(path.join(keysDir, 'keys.json')));
    try {
      const key = '/registry/berth.dev/secrets/shop/db';
      await store.create(key, { apiVersion: 'berth.dev/v1', kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, data: { password: CANARY_B64 }, stringData: { raw: CANARY } });
      await store.create('/registry/berth.dev/containers/shop/web', { metadata: { name: 'web', namespace: 'shop' }, spec: { marker: 'etcd-visible-marker' } });
      expect(await store.get(key)).toMatchObject({ data: { password: CANARY_B64 }, stringData: { raw: CANARY } });
      expect((await backend.get(key))[SEALED_FIELD]).toBeDefined();
    } finally {
      await store.close();
    }
    const raw = rawTree(etcd.dataDir);
    expect(raw).toContain('etcd-visible-marker'); // the grep reads etcd's files...
    expect(raw).not.toContain(CANARY); // ...and finds no secret value
    expect(raw).not.toContain(CANARY_B64);
  });
});
