/**
 * The raw store floor the API benchmark is compared against: what better-sqlite3 and etcd do with nothing on top.
 * Run alone (`node dist/bench/store-floor.js`) it prints both; set BERTH_ETCD_ENDPOINT to use a running etcd,
 * otherwise a private one is started for the run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { openSqliteFile } from '../api/storage';
import { startEtcd } from '../test/helpers/etcd';

/** About the size of a stored Container. */
const PAYLOAD = JSON.stringify({
  apiVersion: 'berth.dev/v1',
  kind: 'Container',
  metadata: { name: 'bench', namespace: 'default', uid: '6f1c7a1e-0000-4000-8000-000000000000', labels: { app: 'bench' } },
  spec: { image: 'busybox:latest', command: ['sleep', '3600'], env: [{ name: 'A', value: 'b' }], resources: { limits: { cpu: '100m', memory: '64Mi' } } },
});

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

/** Puts `n` keys into etcd at `endpoint` from `concurrency` parallel callers through the etcd3 client. */
export async function etcdPutsPerSecond(opts: { endpoint: string; n: number; concurrency: number }): Promise<number> {
  const client = new Etcd3({ hosts: [opts.endpoint] });
  const prefix = `/berth-floor/${process.pid}-${Date.now()}/`;
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < opts.n; i = next++) await client.put(`${prefix}o${i}`).value(PAYLOAD);
    };
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
    const perSecond = opts.n / (Number(process.hrtime.bigint() - start) / 1e9);
    await client.delete().prefix(prefix);
    return perSecond;
  } finally {
    client.close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-floor-'));
  const etcd = process.env.BERTH_ETCD_ENDPOINT ? undefined : await startEtcd();
  try {
    const sqlite = await sqliteInsertsPerSecond({ path: path.join(dir, 'floor.db'), n: 20_000 });
    console.log(`sqlite inserts/s (WAL, synchronous=NORMAL, 1 txn/insert): ${Math.round(sqlite)}`);
    const endpoint = process.env.BERTH_ETCD_ENDPOINT ?? etcd!.endpoint;
    const puts = await etcdPutsPerSecond({ endpoint, n: 20_000, concurrency: 64 });
    console.log(`etcd puts/s (etcd3 client, 64 concurrent): ${Math.round(puts)}`);
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
