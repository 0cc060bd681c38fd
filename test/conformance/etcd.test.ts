import * as fs from 'node:fs';
import { EtcdInstance, startEtcd } from '../helpers/etcd';
import { etcdFixture, runStorageSuite } from './storage';

let etcd: EtcdInstance;

beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd.stop();
  expect(fs.existsSync(etcd.dataDir)).toBe(false);
  expect(() => process.kill(etcd.pid, 0)).toThrow();
});

runStorageSuite('etcd', etcdFixture(() => etcd.endpoint));
