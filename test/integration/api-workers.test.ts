/**
 * `berth apiserver --workers 2` on a real etcd: two API server processes behind one port serve one cluster; a worker
 * killed with SIGKILL is replaced while the other keeps serving; a stop leaves no process behind. SQLite refuses it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient, RESOURCES, loadKubeconfig } from '../../client';
import { spawnApiServer, type ApiServerProcess } from '../helpers/apiserver';
import { startEtcd, type EtcdInstance } from '../helpers/etcd';
import { until } from '../helpers/until';

const childrenOf = (pid: number): number[] => {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // the process is gone
  }
};
const alive = (pid: number): boolean => fs.existsSync(`/proc/${pid}`);
const portOf = (url: string): number => Number(new URL(url).port);

/** The pids owning the server side of the established connections on `port` (as `ss -p` reports them). */
const connectionOwners = (port: number): Set<number> => {
  const out = execFileSync('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' });
  return new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
};

const container = (name: string) => ({ metadata: { name }, spec: { image: 'busybox' } });

describe('berth apiserver --workers 2 on etcd', () => {
  let etcd: EtcdInstance;
  let home: string;
  let server: ApiServerProcess;
  const clients: ApiClient[] = [];
  /** A client on a connection of its own (the primary hands each new connection to the next worker). */
  const newClient = (): ApiClient => {
    const client = new ApiClient(loadKubeconfig(server.kubeconfigPath));
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    etcd = await startEtcd();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-workers-'));
    server = await spawnApiServer(home, { store: 'etcd', etcdEndpoint: etcd.endpoint, workers: 2 });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.kill('SIGKILL');
    await etcd?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('Given SQLite, When more than one worker is asked for, Then it refuses with the reason', async () => {
    const sqliteHome = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-workers-sqlite-'));
    try {
      await expect(spawnApiServer(sqliteHome, { store: 'sqlite', workers: 2 })).rejects.toThrow(/--workers 2 needs --store etcd.*single writer/);
    } finally {
      fs.rmSync(sqliteHome, { recursive: true, force: true });
    }
  });

  it('When many clients create at once, Then every create lands with a unique resourceVersion, increasing along each client', async () => {
    expect(childrenOf(server.pid)).toHaveLength(2);
    // Workers start with the larger young generation (fewer scavenges per request); the primary's own argv has none.
    for (const pid of childrenOf(server.pid)) expect(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=64');
    const writers = Array.from({ length: 4 }, newClient);
    const chains = await Promise.all(
      Array.from({ length: 16 }, async (_, chain) => {
        const rvs: number[] = [];
        for (let i = 0; i < 15; i++) {
          const created = await writers[chain % writers.length].create(RESOURCES.containers, container(`c-${chain}-${i}`));
          rvs.push(Number(created.metadata.resourceVersion));
        }
        return rvs;
      }),
    );
    for (const rvs of chains) expect(rvs).toEqual([...rvs].sort((a, b) => a - b));
    const all = chains.flat();
    expect(new Set(all).size).toBe(16 * 15);
    const listed = await writers[0].list(RESOURCES.containers, { namespace: 'default' });
    expect(new Set(listed.items.map((c) => Number(c.metadata.resourceVersion)))).toEqual(new Set(all));
    // The load went through both workers.
    expect([...connectionOwners(portOf(server.url))]).toEqual(expect.arrayContaining(childrenOf(server.pid)));
  });

  it('When writes arrive through other connections, Then a watch on one connection sees every one of them', async () => {
    const watcher = newClient();
    const from = (await watcher.list(RESOURCES.containers)).metadata.resourceVersion;
    const seen: string[] = [];
    const handle = await watcher.watch(RESOURCES.containers, { resourceVersion: from }, (type, obj) => {
      if (type === 'ADDED') seen.push(String(obj.metadata.name));
    });
    const writers = Array.from({ length: 4 }, newClient);
    await Promise.all(writers.map((w, i) => w.create(RESOURCES.containers, container(`watched-${i}`))));
    // Both workers hold some of these five connections, so at least one write went through the watcher's other worker.
    expect([...connectionOwners(portOf(server.url))]).toEqual(expect.arrayContaining(childrenOf(server.pid)));
    await until(() => seen.length === writers.length, 10_000, 'all four ADDED events');
    handle.stop();
    expect(seen.sort()).toEqual(['watched-0', 'watched-1', 'watched-2', 'watched-3']);
  });

  it('When a worker is killed with SIGKILL, Then new requests keep succeeding and the primary starts a replacement', async () => {
    const [victim, survivor] = childrenOf(server.pid);
    process.kill(victim, 'SIGKILL');
    await until(() => !alive(victim), 5_000, `worker ${victim} gone`);
    // New connections go to the surviving worker at once (and to the replacement once it serves).
    for (let i = 0; i < 10; i++) await newClient().create(RESOURCES.containers, container(`after-kill-${i}`));
    const workers = await until(() => (childrenOf(server.pid).length === 2 ? childrenOf(server.pid) : undefined), 20_000, 'a replacement worker');
    expect(workers).toContain(survivor);
    expect(workers).not.toContain(victim);
    const replacement = workers.find((pid) => pid !== survivor)!;
    // The replacement serves: new connections reach it and succeed.
    await until(
      async () => {
        const client = new ApiClient(loadKubeconfig(server.kubeconfigPath));
        try {
          await client.get(RESOURCES.containers, 'after-kill-0', 'default');
          return connectionOwners(portOf(server.url)).has(replacement);
        } finally {
          client.close();
        }
      },
      20_000,
      'a request served by the replacement worker',
    );
  });

  it('When the primary is stopped, Then it and every worker exit', async () => {
    const workers = childrenOf(server.pid);
    expect(workers).toHaveLength(2);
    for (const c of clients.splice(0)) c.close();
    await server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    await until(() => workers.every((pid) => !alive(pid)), 10_000, 'every worker gone');
    expect(workers.filter(alive)).toEqual([]);
  });

  it('When the primary is killed with SIGKILL, Then its workers close and exit on their own', async () => {
    const crashing = await spawnApiServer(home, { store: 'etcd', etcdEndpoint: etcd.endpoint, workers: 2 });
    const workers = childrenOf(crashing.pid);
    expect(workers).toHaveLength(2);
    await crashing.kill('SIGKILL');
    await until(() => workers.every((pid) => !alive(pid)), 10_000, 'every orphaned worker gone');
    expect(workers.filter(alive)).toEqual([]);
  });
});
