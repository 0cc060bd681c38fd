/**
 * The raw store floor the API benchmark is compared against: what better-sqlite3 and etcd do with nothing on top,
 * writing values of the size the API server stores, under fresh keys. Also the layer in between: Berth's etcd
 * storage (behind its watch cache, as the API server runs it) creating the same objects, to tell the cost of the
 * storage layer from the cost of the HTTP/API path.
 * Run alone (`node dist/bench/store-floor.js`) it prints all three; set BERTH_ETCD_ENDPOINT to use a running etcd,
 * otherwise a private one is started for the run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { CachedStorage, EtcdStorage, openSqliteFile, type StoredObject } from '../api/storage';
import { startEtcd } from '../test/helpers/etcd';

/** A Container as the API server stores the ones bench:api creates (uid, timestamps, managedFields): same value size. */
const storedContainer = (name: string): StoredObject => ({
  apiVersion: 'berth.dev/v1',
  kind: 'Container',
  metadata: {
    name,
    namespace: 'bench',
    uid: '6f1c7a1e-0000-4000-8000-000000000000',
    creationTimestamp: '2026-01-01T00:00:00Z',
    generation: 1,
    managedFields: [
      {
        manager: 'berth-client',
        operation: 'Update',
        apiVersion: 'berth.dev/v1',
        time: '2026-01-01T00:00:00Z',
        fieldsType: 'FieldsV1',
        fieldsV1: { 'f:spec': { 'f:image': {}, 'f:command': {}, 'f:restartPolicy': {} } },
      },
    ],
  },
  spec: { image: 'busybox', command: ['sleep', '1'], restartPolicy: 'Always' },
});
const PAYLOAD = JSON.stringify(storedContainer('c-0000'));

/** Runs `op(0..n-1)` from `concurrency` parallel callers; operations per second. */
async function perSecond(n: number, concurrency: number, op: (i: number) => PromiseLike<unknown>): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) await op(i);
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** A key prefix no earlier run used: every write creates a key, as an API create does. */
const freshPrefix = (what: string): string => `/berth-${what}/${process.pid}-${Date.now()}`;

/** Inserts `n` rows into a fresh table of a database opened like the backend's, one transaction per insert. */
export async function sqliteInsertsPerSecond(opts: { path: string; n: number }): Promise<number> {
  const db = openSqliteFile(opts.path);
  try {
    db.exec('CREATE TABLE IF NOT EXISTS floor (rev INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, value TEXT NOT NULL)');
    const insert = db.prepare('INSERT INTO floor (key, value) VALUES (?, ?)');
    const insertOne = db.transaction((key: string) => insert.run(key, PAYLOAD));
    const start = process.hrtime.bigint();
    for (let i = 0; i < opts.n; i++) insertOne(`/registry/floor/default/o${i}`);
    return opts.n / (Number(process.hrtime.bigint() - start) / 1e9);
  } finally {
    db.close();
  }
}

/** Puts `n` fresh keys into etcd at `endpoint` from `concurrency` parallel callers through the etcd3 client. */
export async function etcdPutsPerSecond(opts: { endpoint: string; n: number; concurrency: number }): Promise<number> {
  const client = new Etcd3({ hosts: [opts.endpoint] });
  const prefix = freshPrefix('floor');
  try {
    const rate = await perSecond(opts.n, opts.concurrency, (i) => client.put(`${prefix}/o${i}`).value(PAYLOAD).exec());
    await client.delete().prefix(`${prefix}/`);
    return rate;
  } finally {
    client.close();
  }
}

/**
 * Creates `n` fresh objects through EtcdStorage behind the watch cache with its upstream watch running (as in the
 * API server), from `concurrency` parallel callers: the storage layer without HTTP, authentication or admission.
 */
export async function etcdStorageCreatesPerSecond(opts: { endpoint: string; n: number; concurrency: number }): Promise<number> {
  const prefix = freshPrefix('storage');
  const store = new CachedStorage(new EtcdStorage({ endpoints: [opts.endpoint], prefix }));
  let rate: number;
  try {
    await store.watch('/registry/', { fromRevision: 0, onEvent: () => undefined });
    rate = await perSecond(opts.n, opts.concurrency, (i) => store.create(`/registry/bench/c-${i}`, storedContainer(`c-${i}`)));
  } finally {
    // Closed before the clean-up, so etcd does not go on sending the deletions to its watch during the next figure.
    await store.close();
  }
  const cleanup = new Etcd3({ hosts: [opts.endpoint] });
  try {
    await cleanup.delete().prefix(`${prefix}/`);
  } finally {
    cleanup.close();
  }
  return rate;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-floor-'));
  const etcd = process.env.BERTH_ETCD_ENDPOINT ? undefined : await startEtcd();
  try {
    const sqlite = await sqliteInsertsPerSecond({ path: path.join(dir, 'floor.db'), n: 20_000 });
    console.log(`sqlite inserts/s (WAL, synchronous=NORMAL, 1 txn/insert): ${Math.round(sqlite)}`);
    const endpoint = process.env.BERTH_ETCD_ENDPOINT ?? etcd!.endpoint;
    const puts = await etcdPutsPerSecond({ endpoint, n: 20_000, concurrency: 64 });
    console.log(`etcd puts/s (etcd3 client, 64 concurrent, ${PAYLOAD.length}-byte values): ${Math.round(puts)}`);
    const creates = await etcdStorageCreatesPerSecond({ endpoint, n: 20_000, concurrency: 64 });
    console.log(`etcd storage creates/s (EtcdStorage behind the watch cache, 64 concurrent): ${Math.round(creates)} (${(creates / puts).toFixed(2)}x puts)`);
  } finally {
    await etcd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
