/**
 * Several API server processes for one cluster on one port (node:cluster), as kube-apiserver replicas share one
 * etcd: one Node process uses one core. The primary only forks the workers, replaces one that dies and stops them
 * all; each worker is a complete API server (start()) with its own watch cache on the shared etcd. The primary hands
 * each accepted connection to the next worker (round robin), so one HTTP/2 client connection is served by one worker.
 *
 * What a server does once per cluster: its first start in a $BERTH_HOME writes the PKI, tokens and key ring, so
 * worker 1 starts alone and the others after it serves (they read what it wrote; a replacement finds it too).
 * Garbage collection and compaction run in slot 1 only (its replacement takes them over); the `default` namespace
 * and stored CRDs are create-if-absent / read by every worker.
 */
import cluster, { type Worker } from 'node:cluster';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StartOptions } from './start';

/** What the API server answers at, one process or several. */
export interface ApiEndpoint {
  readonly url: string;
  readonly port: number;
  readonly kubeconfigPath: string;
  readonly adminToken: string;
  readonly caPem: string;
  close(): Promise<void>;
}

export interface RunningWorkers extends ApiEndpoint {
  /** The worker processes serving now, by slot (a replacement's pid once it is forked). */
  pids(): number[];
}

/** A worker's report to the primary once it serves. */
export interface WorkerReady extends Omit<ApiEndpoint, 'close'> {
  readonly type: 'berth-apiserver-ready';
}

/** The primary's request to a worker to close and exit. */
export const STOP_MESSAGE = 'berth-apiserver-stop';
/** Carries a worker's StartOptions (JSON) from the primary. */
export const WORKER_OPTIONS_ENV = 'BERTH_APISERVER_WORKER_OPTIONS';

/** A worker that does not finish closing in this time is killed. */
const STOP_TIMEOUT_MS = 10_000;
/** A worker that dies sooner than this after its fork is replaced only after a growing delay (no crash loop). */
const HEALTHY_AFTER_MS = 5_000;
const MAX_RESTART_DELAY_MS = 5_000;

const isReady = (m: unknown): m is WorkerReady => (m as WorkerReady | undefined)?.type === 'berth-apiserver-ready';

/** The compiled worker entry: next to this file in dist/, or dist/ when this file runs as TypeScript (jest). */
const workerEntry = (): string => {
  const local = path.join(__dirname, 'worker-main.js');
  return fs.existsSync(local) ? local : path.resolve(__dirname, '../../dist/api/server/worker-main.js');
};

/**
 * The workers get a larger young generation (V8's default semi-space is 16 MiB): a create allocates tens of KiB of
 * short-lived request objects, and scavenges were ~14% of a worker's CPU under 64 concurrent creates (measured 5–8%
 * less CPU per create with 64 MiB). A flag the operator passed to the primary (NODE_OPTIONS or node's argv) wins.
 * Only workers: V8 sizes the heap when a process starts, so the single-process server cannot change its own.
 */
const YOUNG_GENERATION_FLAG = '--max-semi-space-size=64';
const workerExecArgv = (): string[] =>
  process.execArgv.some((a) => a.startsWith('--max-semi-space-size')) || /--max-semi-space-size/.test(process.env.NODE_OPTIONS ?? '')
    ? process.execArgv
    : [...process.execArgv, YOUNG_GENERATION_FLAG];

/** Refuses what cannot work before any process is forked. */
export const checkWorkerCount = (store: StartOptions['store'], workers: number): void => {
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers must be a whole number ≥ 1, not "${workers}"`);
  if (workers > 1 && store !== 'etcd')
    throw new Error(
      `--workers ${workers} needs --store etcd: the embedded SQLite store has a single writer (one process holds the file), so several API server processes cannot share it`,
    );
};

class WorkerPool {
  private readonly slots: (Worker | undefined)[];
  private readonly restartDelay: number[];
  private supervising = false;
  private stopping?: Promise<void>;

  constructor(private readonly opts: StartOptions & { readonly workers: number }) {
    this.slots = new Array<Worker | undefined>(opts.workers).fill(undefined);
    this.restartDelay = new Array<number>(opts.workers).fill(0);
  }

  /** Forks the worker of `slot`; resolves once it serves, rejects if it exits first. */
  fork(slot: number): Promise<WorkerReady> {
    cluster.setupPrimary({ exec: workerEntry(), args: [], execArgv: workerExecArgv() });
    const options: StartOptions = { ...this.opts, clusterJobs: slot === 0 };
    const worker = cluster.fork({ [WORKER_OPTIONS_ENV]: JSON.stringify(options) });
    const forkedAt = Date.now();
    this.slots[slot] = worker;
    worker.once('exit', (code: number | null, signal: string | null) => this.exited(slot, worker, forkedAt, signal ?? `code ${code}`));
    return new Promise((resolve, reject) => {
      const early = (code: number | null, signal: string | null): void =>
        reject(new Error(`API server worker ${slot + 1} (pid ${worker.process.pid}) exited (${signal ?? `code ${code}`}) before it served`));
      worker.once('exit', early);
      worker.on('message', (m: unknown) => {
        if (!isReady(m)) return;
        worker.off('exit', early);
        resolve(m);
      });
    });
  }

  /** From now on a worker that dies is replaced. */
  supervise(): void {
    this.supervising = true;
  }

  pids(): number[] {
    return this.slots.flatMap((w) => (w?.process.pid === undefined || w.isDead() ? [] : [w.process.pid]));
  }

  private exited(slot: number, worker: Worker, forkedAt: number, how: string): void {
    if (this.slots[slot] !== worker || this.stopping || !this.supervising) return;
    const young = Date.now() - forkedAt < HEALTHY_AFTER_MS;
    const delay = young ? Math.min(MAX_RESTART_DELAY_MS, Math.max(250, this.restartDelay[slot] * 2)) : 0;
    this.restartDelay[slot] = delay;
    console.error(`berth: API server worker ${slot + 1} (pid ${worker.process.pid}) exited (${how}); starting a new one in ${delay} ms`);
    setTimeout(() => {
      if (this.stopping) return;
      this.fork(slot).then(
        (ready) => console.log(`berth: API server worker ${slot + 1} (pid ${this.slots[slot]?.process.pid}) serving ${ready.url} again`),
        // Its exit handler has already scheduled the next attempt.
        (err: Error) => console.error(`berth: ${err.message}`),
      );
    }, delay).unref();
  }

  /** Asks every worker to close, kills the ones that have not exited after STOP_TIMEOUT_MS. */
  stop(): Promise<void> {
    return (this.stopping ??= Promise.all(this.slots.map((w) => (w ? stopWorker(w) : undefined))).then(() => undefined));
  }
}

const stopWorker = (worker: Worker): Promise<void> => {
  if (worker.isDead()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (worker.isConnected()) worker.send(STOP_MESSAGE);
    else worker.process.kill('SIGTERM');
  });
};

/**
 * Forks `opts.workers` API server processes on the etcd store (worker 1 first, the rest once it serves) and
 * supervises them until close(). Rejects, with every forked worker stopped, if one cannot start.
 */
export const startWorkers = async (opts: StartOptions & { readonly workers: number }): Promise<RunningWorkers> => {
  checkWorkerCount(opts.store, opts.workers);
  if (!cluster.isPrimary) throw new Error('startWorkers() must run in the primary process, not in a cluster worker');
  const pool = new WorkerPool(opts);
  let first: WorkerReady;
  try {
    first = await pool.fork(0);
    await Promise.all(Array.from({ length: opts.workers - 1 }, (_, i) => pool.fork(i + 1)));
  } catch (err) {
    await pool.stop();
    throw err;
  }
  pool.supervise();
  const { url, port, kubeconfigPath, adminToken, caPem } = first;
  return { url, port, kubeconfigPath, adminToken, caPem, pids: () => pool.pids(), close: () => pool.stop() };
};
