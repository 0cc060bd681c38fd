import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { NodeAgent } from '../agent';
import { createCgroupManager } from '../runtime/cgroups';
import { readLog } from '../logs';
import { serveExec } from './exec';
import { agentMetrics, ContainerSample } from './metrics';

export interface AgentServerOptions {
  readonly agent: NodeAgent;
  /** Where each container's per-run log files are (`<dir>/<restartCount>.log`). */
  readonly logDir: (namespace: string, name: string) => string;
  /** Unix socket to listen on: reachable by local root only (mode 0600), which is who may read logs and stats. */
  readonly socketPath: string;
}

const bool = (v: string | null): boolean => v === 'true' || v === '1' || v === 'True';

/**
 * The agent's own endpoint: `/metrics` (Prometheus), `/stats` (JSON for `berth top`) and
 * `/logs/<namespace>/<name>` (`follow`, `tailLines`, `sinceSeconds`, `timestamps`, `previous`) and
 * `POST /exec/<namespace>/<name>?command=...` (framed stdio, exec.ts), which the API server's `log` and `exec`
 * subresources proxy to.
 */
export class AgentServer {
  private readonly server: http.Server;
  private readonly registry;

  constructor(private readonly opts: AgentServerOptions) {
    this.registry = agentMetrics(() => this.samples(), opts.agent.startTimings.metrics);
    this.server = http.createServer((req, res) => void this.route(req, res).catch((err) => this.fail(res, 500, (err as Error).message)));
  }

  listen(): Promise<void> {
    fs.mkdirSync(path.dirname(this.opts.socketPath), { recursive: true, mode: 0o700 });
    fs.rmSync(this.opts.socketPath, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.socketPath, () => {
        fs.chmodSync(this.opts.socketPath, 0o600);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  samples(): ContainerSample[] {
    return this.opts.agent.containers().map((c) => {
      let stats;
      try {
        stats = c.phase === 'Running' ? createCgroupManager(c.id, `berth/${c.id}`).stats() : undefined;
      } catch {
        stats = undefined; // the cgroup went away between listing and reading
      }
      return { namespace: c.namespace, name: c.name, restartCount: c.restartCount, stats };
    });
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://agent');
    const exec = /^\/exec\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (exec && req.method === 'POST') return this.exec(decodeURIComponent(exec[1]), decodeURIComponent(exec[2]), url.searchParams, req, res);
    if (req.method !== 'GET') return this.fail(res, 405, `${req.method} is not allowed`);
    if (url.pathname === '/metrics') {
      res.setHeader('Content-Type', this.registry.contentType);
      return void res.end(await this.registry.metrics());
    }
    if (url.pathname === '/stats') {
      res.setHeader('Content-Type', 'application/json');
      return void res.end(JSON.stringify(this.samples()));
    }
    const m = /^\/logs\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (m) return this.logs(decodeURIComponent(m[1]), decodeURIComponent(m[2]), url.searchParams, req, res);
    this.fail(res, 404, `no route ${url.pathname}`);
  }

  private async exec(namespace: string, name: string, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const c = this.opts.agent.containers().find((x) => x.namespace === namespace && x.name === name);
    if (!c || c.phase !== 'Running') return this.fail(res, c ? 409 : 404, `container ${namespace}/${name} is ${c ? `not running (${c.phase})` : 'not on this node'}`);
    const command = q.getAll('command');
    if (command.length === 0) return this.fail(res, 400, 'exec needs a command (?command=...)');
    await serveExec(this.opts.agent.runtime, c.id, command, { stdin: bool(q.get('stdin')), tty: bool(q.get('tty')) }, req, res);
  }

  private async logs(namespace: string, name: string, q: URLSearchParams, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const c = this.opts.agent.containers().find((x) => x.namespace === namespace && x.name === name);
    if (!c) return this.fail(res, 404, `container ${namespace}/${name} is not on this node`);
    const run = bool(q.get('previous')) ? c.restartCount - 1 : c.restartCount;
    if (run < 0) return this.fail(res, 400, `container ${namespace}/${name} has not been restarted: there is no previous run`);
    const file = path.join(this.opts.logDir(namespace, name), `${run}.log`);
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    const since = q.get('sinceSeconds');
    const tail = q.get('tailLines');
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.flushHeaders();
    try {
      for await (const line of readLog(file, {
        follow: bool(q.get('follow')),
        timestamps: bool(q.get('timestamps')),
        tailLines: tail !== null ? Number(tail) : undefined,
        since: since !== null ? new Date(Date.now() - Number(since) * 1000) : undefined,
        signal: abort.signal,
      })) {
        if (!res.write(line)) await new Promise((r) => res.once('drain', r));
      }
    } catch (err) {
      // Headers are out: cutting the connection is the only way left to tell the reader the log is incomplete.
      return this.fail(res, 500, `read log ${file}: ${(err as Error).message}`);
    }
    res.end();
  }

  private fail(res: http.ServerResponse, code: number, message: string): void {
    if (res.headersSent) return void res.destroy();
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code }));
  }
}
