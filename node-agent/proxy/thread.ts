/**
 * The agent's side of the proxy thread: one worker thread for all of a process's published ports, started with
 * the first ServiceProxy and ended with the last one. If the thread dies, it is started again and every proxy
 * replays its state (options, listening, endpoints) onto it.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromProxyThread, ToProxyThread } from './messages';

/** A ServiceProxy as the thread sees it. */
export interface ThreadClient {
  /** The messages that rebuild this proxy's state on a fresh thread. */
  replay(): ToProxyThread[];
  receive(m: FromProxyThread): void;
}

// From the sources (ts-jest, ts-node-free), the worker compiles its TypeScript on the fly; from dist/ it is plain JavaScript.
const WORKER_FROM_SOURCES = `
const ts = require('typescript');
const fs = require('node:fs');
require.extensions['.ts'] = (m, file) =>
  m._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, file);
require(require('node:worker_threads').workerData.entry);
`;

/** The least time between two starts of a thread that keeps dying. */
const RESTART_MS = 1000;
/** How long the thread outlives its last proxy: a port closed and opened again (a Service updated) reuses it. */
const LINGER_MS = 1000;

class ProxyThread {
  private worker?: Worker;
  private readonly clients = new Map<number, ThreadClient>();
  private nextId = 1;
  private linger?: NodeJS.Timeout;
  /** A restart is due: messages meanwhile are dropped, the restart replays every proxy's state. */
  private restarting = false;

  add(client: ThreadClient): number {
    const id = this.nextId++;
    this.clients.set(id, client);
    clearTimeout(this.linger);
    if (!this.worker && !this.restarting) this.start();
    return id;
  }

  remove(id: number): void {
    this.clients.delete(id);
    if (this.clients.size > 0 || !this.worker) return;
    clearTimeout(this.linger);
    this.linger = setTimeout(() => {
      const w = this.worker;
      this.worker = undefined;
      void w?.terminate();
    }, LINGER_MS).unref();
  }

  post(m: ToProxyThread): void {
    this.worker?.postMessage(m);
  }

  private restart(): void {
    this.restarting = false;
    if (this.clients.size === 0) return;
    this.start();
    for (const c of this.clients.values()) for (const m of c.replay()) this.post(m);
  }

  private start(): void {
    const entry = path.join(__dirname, `worker${path.extname(__filename)}`);
    const w = entry.endsWith('.ts') ? new Worker(WORKER_FROM_SOURCES, { eval: true, workerData: { entry } }) : new Worker(entry);
    w.on('message', (m: FromProxyThread) => this.clients.get(m.proxy)?.receive(m));
    w.on('error', (err) => console.error(JSON.stringify({ component: 'berth-service-proxy', msg: 'proxy thread failed, starting it again', err: err.message })));
    const startedAt = Date.now();
    w.on('exit', () => {
      if (this.worker !== w) return; // ended on purpose
      this.worker = undefined;
      this.restarting = true;
      // A thread that dies at once (it cannot even load) is not restarted in a tight loop.
      setTimeout(() => this.restart(), Date.now() - startedAt < RESTART_MS ? RESTART_MS : 0).unref();
    });
    w.unref(); // after the listeners (a 'message' listener refs it again): published ports never keep a process alive by themselves
    this.worker = w;
  }
}

export const proxyThread = new ProxyThread();
