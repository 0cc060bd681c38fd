import * as fs from 'node:fs';
import { EtcdStorage } from '../../api/storage';
import { EtcdInstance, startEtcd } from '../helpers/etcd';
import { runStorageSuite } from './storage';

let etcd: EtcdInstance;
let stores = 0;

beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd.stop();
  expect(fs.existsSync(etcd.dataDir)).toBe(false);
  expect(() => process.kill(etcd.pid, 0)).toThrow();
});

// One etcd for the file; each test gets its own key prefix so tests cannot see each other's keys.
runStorageSuite('etcd', async () => {
  const store = new EtcdStorage({ endpoints: [etcd.endpoint], prefix: `/t${++stores}` });
  return { store, cleanup: () => store.close() };
});
