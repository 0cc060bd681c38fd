import { isIP } from 'node:net';
import { commands, FromRelay, isRelayable } from './protocol';
import { proxyRelay } from './relay';
import { ProxyStats } from './stats';

export interface Endpoint {
  /** Stable identity (the Container's name). */
  readonly id: string;
  /** An IP address. */
  readonly host: string;
  readonly port: number;
  /** Relative share of new connections; 0 takes the endpoint out of rotation. */
  readonly weight: number;
  /** The revision the endpoint belongs to, for per-revision statistics (canary analysis). */
  readonly group: string;
}

export interface ServiceProxyOptions {
  /** An IP address; 127.0.0.1 unless set. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Count each response by its status line (5xx are errors) and time it from the request's first byte. */
  readonly httpAware?: boolean;
  /** How long one connect may take before another endpoint, if there is one, is tried instead; 1 s unless set. */
  readonly connectTimeoutMs?: number;
  /** How long a new connection may wait for an endpoint it has not tried yet to come into rotation; 2 s unless set. */
  readonly endpointWaitMs?: number;
}

/**
 * One published port of a Service, as the agent sees it: the forwarding itself runs in berth-proxy (./relay),
 * this object holds the rotation it asked for, the open-connection counts and request outcomes the relay
 * reported, and answers drain questions from them.
 */
export class ServiceProxy {
  /** Per-revision outcomes, at most 250 ms behind the relay (canary analysis). */
  readonly stats = new ProxyStats();
  private readonly id: number;
  private readonly host: string;
  private endpoints: readonly Endpoint[] = [];
  private rotation = new Set<string>();
  private version = 0;
  private acknowledged = 0;
  private open = new Map<string, number>();
  /** The port asked for, then the one listened on: a restarted relay listens on the same one. */
  private port: number;
  private listening = false;
  private listenWaiter?: { resolve: (port: number) => void; reject: (err: Error) => void };
  private closeWaiter?: () => void;
  private closed?: Promise<void>;
  private readonly syncWaiters = new Map<number, () => void>();
  private syncSeq = 0;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port;
    this.id = proxyRelay.add({ replay: () => this.replay(), receive: (m) => this.receive(m) });
    proxyRelay.send(commands.create(this.id, opts));
  }

  /** Replaces the rotation. Connections to endpoints no longer listed keep going until they end. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints.filter(isRelayable).map((e) => ({ ...e }));
    this.rotation = new Set(this.endpoints.filter((e) => e.weight > 0).map((e) => e.id));
    proxyRelay.send(commands.endpoints(this.id, ++this.version, this.endpoints));
  }

  /** Open connections to endpoint `id` (what a drain waits for), connects in progress included, as last reported. */
  connections(id: string): number {
    return this.open.get(id) ?? 0;
  }

  /**
   * Whether endpoint `id` is drained: out of the rotation, the relay has applied that rotation, and no connection
   * is left open to it. Counts reported after the rotation applied only fall for an endpoint outside it, so a stale
   * count errs towards waiting.
   */
  isDrained(id: string): boolean {
    return !this.rotation.has(id) && this.acknowledged === this.version && this.connections(id) === 0;
  }

  /** Starts listening; on failure (port taken) the proxy is closed and rejects with the reason. */
  listen(): Promise<number> {
    if (isIP(this.host) === 0 || !Number.isInteger(this.port) || this.port < 0 || this.port > 65535) {
      return Promise.reject(new Error(`service proxy: cannot listen on ${this.host}:${this.port}: an IP address and a port are needed`));
    }
    this.listening = true;
    return new Promise((resolve, reject) => {
      this.listenWaiter = { resolve, reject };
      proxyRelay.send(commands.listen(this.id, this.host, this.port));
    });
  }

  /** Stops accepting and closes every open connection (once: later calls return the same promise). */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.closeWaiter = resolve;
      proxyRelay.send(commands.close(this.id));
    }).then(() => proxyRelay.remove(this.id));
    return this.closed;
  }

  /** Resolves once every count and outcome the relay had when asked is reflected here. */
  sync(): Promise<void> {
    const seq = ++this.syncSeq;
    return new Promise((resolve) => {
      this.syncWaiters.set(seq, resolve);
      proxyRelay.send(commands.sync(this.id, seq));
    });
  }

  private receive(m: FromRelay): void {
    switch (m.type) {
      case 'report':
        this.acknowledged = m.version;
        this.open = new Map(m.open);
        for (const [group, ok, latencyMs] of m.outcomes) this.stats.record(group, ok, latencyMs);
        break;
      case 'listening':
        this.port = m.port;
        this.listenWaiter?.resolve(m.port);
        break;
      case 'listenFailed':
        this.listening = false;
        this.listenWaiter?.reject(new Error(`service proxy: cannot listen on ${this.host}:${this.port}: ${m.code}`));
        void this.close(); // nothing to serve: frees its place in the relay (a new ServiceProxy tries again)
        break;
      case 'closed':
        this.closeWaiter?.();
        break;
      case 'synced':
        this.syncWaiters.get(m.seq)?.();
        this.syncWaiters.delete(m.seq);
        break;
    }
  }

  /** A fresh relay knows nothing: the connections died with the old one, so nothing is open or left to sync. */
  private replay(): string[] {
    if (this.closed) {
      this.closeWaiter?.(); // closed with the old process
      return [];
    }
    this.open = new Map();
    this.acknowledged = 0;
    for (const resolve of this.syncWaiters.values()) resolve();
    this.syncWaiters.clear();
    const lines = [commands.create(this.id, this.opts)];
    if (this.listening) lines.push(commands.listen(this.id, this.host, this.port));
    if (this.version > 0) lines.push(commands.endpoints(this.id, this.version, this.endpoints));
    return lines;
  }
}
