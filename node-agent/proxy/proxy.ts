import * as net from 'node:net';
import { Endpoint, WeightedBalancer } from './balancer';
import { ProxyStats } from './stats';

export interface ServiceProxyOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Read the status line of the first response on each connection, counting 5xx as errors and timing it. */
  readonly httpAware?: boolean;
  /** Connect attempts to different endpoints before the client connection is dropped. */
  readonly maxConnectAttempts?: number;
}

const HTTP_STATUS = /^HTTP\/\d\.\d (\d{3})/;

/**
 * A TCP proxy for one published Service port: spreads new connections over ready endpoints by weight, retries a
 * refused connect on another endpoint, and lets connections to endpoints that left the rotation finish (drain).
 */
export class ServiceProxy {
  readonly stats = new ProxyStats();
  private readonly balancer = new WeightedBalancer();
  private readonly server: net.Server;
  private readonly open = new Map<string, Set<net.Socket>>();

  constructor(private readonly opts: ServiceProxyOptions) {
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Replaces the rotation. Connections to endpoints no longer listed keep going until they end. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    this.balancer.set(endpoints);
  }

  /** Open connections per endpoint id (what a drain waits for). */
  connections(id: string): number {
    return this.open.get(id)?.size ?? 0;
  }

  /** Whether endpoint `id` is drained: out of the rotation, with no connection left open to it. */
  isDrained(id: string): boolean {
    return !this.balancer.has(id) && this.connections(id) === 0;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(`service proxy: cannot listen on ${this.opts.host ?? '127.0.0.1'}:${this.opts.port}: ${err.code ?? err.message}`, { cause: err })),
      );
      this.server.listen(this.opts.port, this.opts.host ?? '127.0.0.1', () => resolve((this.server.address() as net.AddressInfo).port));
    });
  }

  /** Stops accepting and closes every open connection. */
  close(): Promise<void> {
    for (const set of this.open.values()) for (const s of set) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    client.pause();
    client.on('error', () => client.destroy());
    this.connect(client, new Set());
  }

  private connect(client: net.Socket, tried: Set<string>): void {
    const endpoint = tried.size < (this.opts.maxConnectAttempts ?? 3) ? this.balancer.pick(tried) : undefined;
    if (!endpoint) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: endpoint.host, port: endpoint.port });
    // Until 'connect', an error means this endpoint refused: count it and try the next one.
    upstream.once('error', () => {
      upstream.destroy();
      this.stats.record(endpoint.group, false);
      tried.add(endpoint.id);
      if (!client.destroyed) this.connect(client, tried);
    });
    upstream.once('connect', () => this.pipe(client, upstream, endpoint));
  }

  private pipe(client: net.Socket, upstream: net.Socket, endpoint: Endpoint): void {
    upstream.removeAllListeners('error');
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    let set = this.open.get(endpoint.id);
    if (!set) this.open.set(endpoint.id, (set = new Set()));
    set.add(client);
    client.once('close', () => {
      set!.delete(client);
      if (set!.size === 0) this.open.delete(endpoint.id);
    });
    if (this.opts.httpAware) this.observeFirstResponse(client, upstream, endpoint);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  private observeFirstResponse(client: net.Socket, upstream: net.Socket, endpoint: Endpoint): void {
    let sentAt: number | undefined;
    client.once('data', () => (sentAt = Date.now()));
    upstream.once('data', (chunk: Buffer) => {
      const m = HTTP_STATUS.exec(chunk.subarray(0, 16).toString('latin1'));
      if (!m || sentAt === undefined) return;
      this.stats.record(endpoint.group, Number(m[1]) < 500, Date.now() - sentAt);
    });
  }
}
