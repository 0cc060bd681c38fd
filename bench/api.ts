/**
 * `npm run bench:api`: the API server against its raw store floors, both backends, side by side. Per backend: raw floor
 * (better-sqlite3 inserts/s with the backend's settings; etcd3 puts/s of values the size of a stored Container, 64
 * concurrent, against the same etcd), for etcd also etcd's own put-if-absent transactions and Berth's storage layer
 * alone creating the same objects (where a create's cost comes from), API creates/s with 64 concurrent clients (on 8
 * HTTP/2 connections, after 10,000 warm-up creates) and the CPU the server (and etcd) spent per create, get latency,
 * list of 10,000 objects, watch delivery p50/p99 with 1,000 watchers. etcd's API figures are measured with one API
 * server process and with two (`--workers 2`), both against the same floor. The floor is measured before and after the
 * API figures and compared by its mean; the load average is printed with every figure (the machine is shared). The
 * server runs as its own process (as in production); the last line is one JSON object with every figure.
 * BENCH_API_STORES=etcd (or sqlite) measures one backend only.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ApiClient, RESOURCES, loadKubeconfig, type Container } from '../client';
import { spawnApiServer, type StoreKind } from '../test/helpers/apiserver';
import { startEtcd, type EtcdInstance } from '../test/helpers/etcd';
import { cpuMs, percentile, round } from './stats';
import { etcdCreateTxnsPerSecond, etcdPutsPerSecond, etcdStorageCreatesPerSecond, sqliteInsertsPerSecond } from './store-floor';

const CONCURRENCY = 64;
/** The 64 clients share this many HTTP/2 connections: with several API server processes each connection is served by one. */
const CONNECTIONS = 8;
/** The etcd API figures are measured with one API server process and with this many (`berth apiserver --workers`). */
const ETCD_WORKERS = [1, 2] as const;
const LIST_SIZE = 10_000;
/**
 * Creates before the measured ones (not counted): a fresh server process spends its first thousands of requests
 * compiling its hot code (measured: ~470 µs CPU per create over the first 10,000 etcd creates, ~300–340 µs after),
 * while the floor runs in this process, warmed up by the floor runs before it. A server in use is warm.
 */
const WARMUP_CREATES = 10_000;
const WATCHERS = 1_000;
const WATCH_EVENTS = 50;
/** Time between the watched writes: 10 writes/s × 1,000 watchers = 10,000 deliveries/s. */
const WATCH_EVENT_INTERVAL_MS = 100;

const container = (name: string, namespace: string): Container => ({ metadata: { name, namespace }, spec: { image: 'busybox', command: ['sleep', '1'] } });

const createMany = async (clients: readonly ApiClient[], namespace: string, prefix: string, n: number): Promise<number> => {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, c) => {
      const client = clients[c % clients.length];
      for (let i = next++; i < n; i = next++) await client.create(RESOURCES.containers, container(`${prefix}-${i}`, namespace));
    }),
  );
  return (n / (performance.now() - start)) * 1000;
};

const measureWatch = async (client: ApiClient, namespace: string): Promise<{ p50: number; p99: number; delivered: number }> => {
  await client.create(RESOURCES.namespaces, { metadata: { name: namespace } });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const handles = await Promise.all(
    Array.from({ length: WATCHERS }, () =>
      client.watch(RESOURCES.containers, { namespace, resourceVersion: undefined }, (type, obj) => {
        const t0 = sentAt.get(String(obj.metadata.name));
        if (type === 'ADDED' && t0 !== undefined) latencies.push(performance.now() - t0);
      }),
    ),
  );
  await new Promise((r) => setTimeout(r, 1000));
  for (let i = 0; i < WATCH_EVENTS; i++) {
    const name = `w-${i}`;
    sentAt.set(name, performance.now());
    await client.create(RESOURCES.containers, container(name, namespace));
    await new Promise((r) => setTimeout(r, WATCH_EVENT_INTERVAL_MS));
  }
  for (let i = 0; i < 100 && latencies.length < WATCHERS * WATCH_EVENTS; i++) await new Promise((r) => setTimeout(r, 100));
  for (const h of handles) h.stop();
  return { p50: round(percentile(latencies, 50), 2), p99: round(percentile(latencies, 99), 2), delivered: latencies.length };
};

/** CPU time of a process and its children (the API server primary and its workers), ms. */
const treeCpuMs = (pid: number): number => {
  const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return cpuMs(pid) + children.reduce((sum, child) => sum + cpuMs(child), 0);
};

interface ApiFigures {
  readonly createsPerSecond: number;
  /** CPU the API server processes (and etcd, when given) spent per create, µs: steadier than rates on a shared machine. */
  readonly serverCpuUsPerCreate: number;
  readonly etcdCpuUsPerCreate?: number;
  readonly getLatencies: number[];
  readonly listTimes: number[];
  readonly watch: { p50: number; p99: number; delivered: number };
}

/**
 * Starts the API server on `store` with `workers` processes and measures creates, gets, lists and watches through
 * it, in namespaces of its own (several runs share one etcd).
 */
const measureApi = async (home: string, store: StoreKind, etcd: EtcdInstance | undefined, workers: number): Promise<ApiFigures> => {
  const server = await spawnApiServer(home, { store, etcdEndpoint: etcd?.endpoint, workers });
  const kubeconfig = loadKubeconfig(server.kubeconfigPath);
  const clients = Array.from({ length: CONNECTIONS }, () => new ApiClient(kubeconfig));
  const [client] = clients;
  const namespace = `bench-${workers}w`;
  try {
    await client.create(RESOURCES.namespaces, { metadata: { name: namespace } });
    await client.create(RESOURCES.namespaces, { metadata: { name: `${namespace}-warmup` } });
    await createMany(clients, `${namespace}-warmup`, 'w', WARMUP_CREATES);
    const [serverCpuBefore, etcdCpuBefore] = [treeCpuMs(server.pid), etcd && cpuMs(etcd.pid)];
    const createsPerSecond = await createMany(clients, namespace, 'c', LIST_SIZE);
    const serverCpuUsPerCreate = ((treeCpuMs(server.pid) - serverCpuBefore) * 1000) / LIST_SIZE;
    const etcdCpuUsPerCreate = etcd && etcdCpuBefore !== undefined ? ((cpuMs(etcd.pid) - etcdCpuBefore) * 1000) / LIST_SIZE : undefined;
    const getLatencies: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t0 = performance.now();
      await client.get(RESOURCES.containers, `c-${i}`, namespace);
      getLatencies.push(performance.now() - t0);
    }
    const listTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const list = await client.list(RESOURCES.containers, { namespace });
      listTimes.push(performance.now() - t0);
      if (list.items.length !== LIST_SIZE) throw new Error(`list returned ${list.items.length} items, expected ${LIST_SIZE}`);
    }
    return { createsPerSecond, serverCpuUsPerCreate, etcdCpuUsPerCreate, getLatencies, listTimes, watch: await measureWatch(client, `${namespace}-watch`) };
  } finally {
    for (const c of clients) c.close();
    await server.kill('SIGTERM');
  }
};

type Figures = Record<string, number | number[]>;

/** One API run's figures, creates as a ratio to the backend's floor. */
const apiFigures = (api: ApiFigures, floor: number): Figures => ({
  createsPerSecond: Math.round(api.createsPerSecond),
  createsVsFloor: round(api.createsPerSecond / floor, 3),
  serverCpuUsPerCreate: Math.round(api.serverCpuUsPerCreate),
  ...(api.etcdCpuUsPerCreate === undefined ? {} : { etcdCpuUsPerCreate: Math.round(api.etcdCpuUsPerCreate) }),
  getP50Ms: round(percentile(api.getLatencies, 50), 2),
  getP99Ms: round(percentile(api.getLatencies, 99), 2),
  list10kMs: round(percentile(api.listTimes, 50)),
  watchP50Ms: api.watch.p50,
  watchP99Ms: api.watch.p99,
  watchDelivered: api.watch.delivered,
});

/** The backend's figures: one row per API server process count (`etcd`, `etcd-2-workers`), all against one floor. */
const benchBackend = async (store: StoreKind): Promise<Record<string, Figures>> => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `berth-bench-${store}-`));
  const etcd = store === 'etcd' ? await startEtcd() : undefined;
  try {
    // Each etcd figure writes fresh keys and leaves them in this private etcd (see EtcdFloorOptions.cleanup).
    const etcdFloor = etcd && { endpoint: etcd.endpoint, n: 10_000, concurrency: CONCURRENCY };
    let floorRuns = 0;
    const measureFloor = (): Promise<number> =>
      etcdFloor ? etcdPutsPerSecond(etcdFloor) : sqliteInsertsPerSecond({ path: path.join(home, `floor-${++floorRuns}.db`), n: 20_000 });
    // The floor before and after the API figures, compared with their mean: load changes on a shared machine.
    const floorBefore = await measureFloor();
    const createTxns = etcdFloor && (await etcdCreateTxnsPerSecond(etcdFloor));
    const storageCreates = etcdFloor && (await etcdStorageCreatesPerSecond(etcdFloor));
    const runs: { workers: number; api: ApiFigures; loadAverage: number[] }[] = [];
    for (const workers of store === 'etcd' ? ETCD_WORKERS : [1]) {
      const loadBefore = os.loadavg()[0];
      const api = await measureApi(home, store, etcd, workers);
      runs.push({ workers, api, loadAverage: [round(loadBefore, 2), round(os.loadavg()[0], 2)] });
    }
    const floorAfter = await measureFloor();
    const floor = (floorBefore + floorAfter) / 2;
    const common: Figures = {
      floorWritesPerSecond: Math.round(floor),
      floorBeforeAfter: [Math.round(floorBefore), Math.round(floorAfter)],
      ...(!createTxns || !storageCreates
        ? {}
        : {
            createTxnsPerSecond: Math.round(createTxns),
            createTxnsVsFloor: round(createTxns / floor, 3),
            storageCreatesPerSecond: Math.round(storageCreates),
            storageVsFloor: round(storageCreates / floor, 3),
          }),
    };
    return Object.fromEntries(
      runs.map(({ workers, api, loadAverage }) => [
        workers === 1 ? store : `${store}-${workers}-workers`,
        { ...common, workers, ...apiFigures(api, floor), loadAverage },
      ]),
    );
  } finally {
    await etcd?.stop();
    fs.rmSync(home, { recursive: true, force: true });
  }
};

const printRow = (name: string, r: Figures): void => {
  const storage =
    r.storageCreatesPerSecond === undefined
      ? ''
      : `create txns ${r.createTxnsPerSecond}/s (${r.createTxnsVsFloor}x) | storage creates ${r.storageCreatesPerSecond}/s (${r.storageVsFloor}x) | `;
  console.log(
    `${name.padEnd(16)} floor ${r.floorWritesPerSecond}/s (before ${(r.floorBeforeAfter as number[]).join(', after ')}) | ${storage}` +
      `API creates ${r.createsPerSecond}/s (${r.createsVsFloor}x floor, ${CONCURRENCY} clients on ${CONNECTIONS} connections, warm, ${r.workers} server process(es); CPU per create: server ${r.serverCpuUsPerCreate} µs` +
      `${r.etcdCpuUsPerCreate === undefined ? '' : `, etcd ${r.etcdCpuUsPerCreate} µs`}) | ` +
      `get p50 ${r.getP50Ms} ms p99 ${r.getP99Ms} ms | list 10k ${r.list10kMs} ms | watch (${WATCHERS} watchers) p50 ${r.watchP50Ms} ms p99 ${r.watchP99Ms} ms | ` +
      `load average ${(r.loadAverage as number[]).join(' → ')}`,
  );
};

const main = async (): Promise<void> => {
  const results: Record<string, Figures> = {};
  // BENCH_API_STORES=etcd measures one backend only (the other takes as long again).
  const stores = (process.env.BENCH_API_STORES ?? 'sqlite,etcd').split(',') as StoreKind[];
  for (const store of stores) {
    for (const [name, row] of Object.entries(await benchBackend(store))) {
      results[name] = row;
      printRow(name, row);
    }
  }
  console.log(JSON.stringify(results));
};

main().catch((err: unknown) => {
  console.error('bench:api failed:', err);
  process.exit(1);
});
