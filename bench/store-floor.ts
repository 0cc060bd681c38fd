/**
 * The raw store floor the API benchmark is compared against: what better-sqlite3 and etcd do with nothing on top,
 * writing values of the size the API server stores, under fresh keys. For etcd also the steps in between, to tell
 * where a create's cost comes from: etcd's own put-if-absent transaction (what any create costs etcd), then Berth's
 * etcd storage behind its watch cache (as the API server runs it) creating the same objects.
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

export interface EtcdFloorOptions {
  readonly endpoint: string;
  readonly n: number;
  readonly concurrency: number;
  /**
   * Delete the keys written, for an etcd that outlives the run. Off for a private etcd: etcd 3.4 runs transactions
   * (every create) about ten times slower after a large delete until the next compaction, which would handicap
   * whatever is measured next; puts are not affected.
   */
  readonly cleanup?: boolean;
}

/** Deletes every key under `prefix/` if asked to. */
async function cleanUp(client: Etcd3, opts: EtcdFloorOptions, prefix: string): Promise<void> {
  if (opts.cleanup) await client.delete().prefix(`${prefix}/`);
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

/** Runs `write(client, key)` for `n` fresh keys under a new prefix through one etcd3 client; writes per second. */
async function etcdWritesPerSecond(opts: EtcdFloorOptions, what: string, write: (client: Etcd3, key: Buffer) => PromiseLike<unknown>): Promise<number> {
  const client = new Etcd3({ hosts: [opts.endpoint] });
  const prefix = freshPrefix(what);
  try {
    const rate = await perSecond(opts.n, opts.concurrency, (i) => write(client, Buffer.from(`${prefix}/o${i}`)));
    await cleanUp(client, opts, prefix);
    return rate;
  } finally {
    client.close();
  }
}

/** Puts `n` fresh keys into etcd at `endpoint` from `concurrency` parallel callers through the etcd3 client. */
export const etcdPutsPerSecond = (opts: EtcdFloorOptions): Promise<number> =>
  etcdWritesPerSecond(opts, 'floor', (client, key) => client.put(key).value(PAYLOAD).exec());

const VALUE = Buffer.from(PAYLOAD);

/**
 * What etcd itself does for a create: `n` fresh keys, each written by a transaction that puts only if the key is
 * absent (compare mod_revision = 0), as every create must — through the same etcd3 client, values and concurrency.
 */
export const etcdCreateTxnsPerSecond = (opts: EtcdFloorOptions): Promise<number> =>
  etcdWritesPerSecond(opts, 'txn', (client, key) =>
    client.kv.txn({ compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: 0 }], success: [{ request_put: { key, value: VALUE } }] }),
  );

/**
 * Creates `n` fresh objects through EtcdStorage behind the watch cache with its upstream watch running (as in the
 * API server), from `concurrency` parallel callers: the storage layer without HTTP, authentication or admission.
 */
export async function etcdStorageCreatesPerSecond(opts: EtcdFloorOptions): Promise<number> {
  const prefix = freshPrefix('storage');
  const store = new CachedStorage(new EtcdStorage({ endpoints: [opts.endpoint], prefix }));
  let rate: number;
  try {
    await store.watch('/registry/', { fromRevision: 0, onEvent: () => undefined });
    rate = await perSecond(opts.n, opts.concurrency, (i) => store.create(`/registry/bench/c-${i}`, storedContainer(`c-${i}`)));
  } finally {
    // Closed before any clean-up, so etcd does not go on sending the deletions to its watch during the next figure.
    await store.close();
  }
  const client = new Etcd3({ hosts: [opts.endpoint] });
  try {
    await cleanUp(client, opts, prefix);
  } finally {
    client.close();
  }
  return rate;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-floor-'));
  const etcd = process.env.BERTH_ETCD_ENDPOINT ? undefined : await startEtcd();
  try {
    const sqlite = await sqliteInsertsPerSecond({ path: path.join(dir, 'floor.db'), n: 20_000 });
    console.log(`sqlite inserts/s (WAL, synchronous=NORMAL, 1 txn/insert): ${Math.round(sqlite)}`);
    const floor: EtcdFloorOptions = { endpoint: process.env.BERTH_ETCD_ENDPOINT ?? etcd!.endpoint, n: 20_000, concurrency: 64, cleanup: !etcd };
    const puts = await etcdPutsPerSecond(floor);
    console.log(`etcd puts/s (etcd3 client, 64 concurrent, ${PAYLOAD.length}-byte values): ${Math.round(puts)}`);
    const txns = await etcdCreateTxnsPerSecond(floor);
    console.log(`etcd create transactions/s (put if absent, same client): ${Math.round(txns)} (${(txns / puts).toFixed(2)}x puts)`);
    const creates = await etcdStorageCreatesPerSecond(floor);
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
