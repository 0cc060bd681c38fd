import * as fs from 'node:fs';
import { CachedStorage } from '../../api/storage';
import { EtcdInstance, startEtcd } from '../helpers/etcd';
import { etcdFixture, runStorageSuite, sqliteFixture } from './storage';

runStorageSuite('watch cache over sqlite', sqliteFixture((backend) => new CachedStorage(backend)));

describe('over etcd', () => {
  let etcd: EtcdInstance;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd.stop();
    expect(fs.existsSync(etcd.dataDir)).toBe(false);
  });
  runStorageSuite('watch cache over etcd', etcdFixture(() => etcd.endpoint, (backend) => new CachedStorage(backend)));
});
