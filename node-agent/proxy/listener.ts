import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import { Endpoint, WeightedBalancer } from './balancer';

export interface ServiceProxyOptions {
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

/** Where a listener reports: each request's outcome, and that the open-connection count of an endpoint changed. */
export interface ListenerEvents {
  record(group: string, ok: boolean, latencyMs?: number): void;
  openChanged(endpointId: string): void;
}

/** One client connection: the endpoints it tried, then the upstream socket it is piped to. */
interface Link {
  readonly client: net.Socket;
  readonly acceptedAt: number;
  upstream?: net.Socket;
  endpoint?: Endpoint;
  connected: boolean;
  tried?: Set<string>;
  /** While waiting for an endpoint: when to give up. */
  timer?: NodeJS.Timeout;
  /** performance.now() of the first byte of an HTTP request not answered yet; -1 when none is pending (HTTP-aware only). */
  requestAt: number;
}

const HTTP_ = 0x48545450; // "HTTP" as a big-endian uint32

/** Whether a chunk starts like an HTTP/1.x request line: a method of 3 to 7 capitals, then a space. */
function isHttpRequest(chunk: Buffer): boolean {
  for (let i = 0; i < chunk.length && i < 8; i++) {
    const c = chunk[i];
    if (c === 0x20) return i >= 3;
    if (c < 0x41 || c > 0x5a) return false;
  }
  return false;
}

/** The status code of a chunk starting with an HTTP/1.x status line (`HTTP/1.1 200 ...`), or 0. */
function statusOf(chunk: Buffer): number {
  if (chunk.length < 12 || chunk.readUInt32BE(0) !== HTTP_ || chunk[4] !== 0x2f || chunk[8] !== 0x20) return 0;
  const d = (i: number) => chunk[i] - 0x30;
  const code = d(9) * 100 + d(10) * 10 + d(11);
  return code >= 100 && code <= 999 ? code : 0;
}

/** Both directions ended in order (FIN each way): nothing is left to forward. */
const cleanlyDone = (s: net.Socket): boolean => s.readableEnded && s.writableFinished;

/**
 * A TCP proxy for one published Service port (the data path, run on the proxy thread): spreads new connections
 * over ready endpoints by weight, retries a failed connect (refused, unreachable, timed out) on another endpoint
 * before the client has seen a byte, and lets connections to endpoints that left the rotation finish (drain).
 * Two sockets piped together with Nagle off; HTTP awareness costs one branch per chunk and a look at the first
 * bytes of each response.
 */
export class ProxyListener {
  private readonly balancer = new WeightedBalancer();
  private readonly server: net.Server;
  private readonly links = new Set<Link>();
  /** Connections per endpoint id, counted from the pick: a connect in progress holds a drain too. */
  readonly open = new Map<string, number>();
  /** Links waiting for an endpoint (none in rotation, or every one failed). */
  private readonly waiting = new Set<Link>();
  private readonly connectTimeoutMs: number;
  private readonly endpointWaitMs: number;

  constructor(
    private readonly opts: ServiceProxyOptions,
    private readonly events: ListenerEvents,
  ) {
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 1000;
    this.endpointWaitMs = opts.endpointWaitMs ?? 2000;
    // Paused until an upstream is connected, half-open so a client that shuts its side after the request still gets the response.
    this.server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, (client) => this.accept(client));
  }

  /** Whether endpoint `id` gets new connections. */
  inRotation(id: string): boolean {
    return this.balancer.has(id);
  }

  /** Replaces the rotation. Connections to endpoints no longer listed keep going until they end. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    this.balancer.set(endpoints);
    if (this.balancer.size() === 0) return;
    for (const link of [...this.waiting]) {
      this.waiting.delete(link);
      clearTimeout(link.timer);
      this.connect(link);
    }
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
    for (const link of this.links) {
      link.client.destroy();
      link.upstream?.destroy();
    }
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const link: Link = { client, acceptedAt: performance.now(), connected: false, requestAt: -1 };
    this.links.add(link);
    client.on('error', () => client.destroy());
    client.on('close', () => {
      this.links.delete(link);
      if (this.waiting.delete(link)) clearTimeout(link.timer);
      if (!cleanlyDone(client)) link.upstream?.destroy(); // after a clean close the upstream finishes by itself
    });
    this.connect(link);
  }

  private connect(link: Link): void {
    if (link.client.destroyed) return;
    const endpoint = this.balancer.pick(link.tried);
    if (!endpoint) return this.wait(link);
    link.endpoint = endpoint;
    this.open.set(endpoint.id, (this.open.get(endpoint.id) ?? 0) + 1);
    this.events.openChanged(endpoint.id);
    const upstream = net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true, allowHalfOpen: true, timeout: this.connectTimeoutMs });
    link.upstream = upstream;
    // A slow connect is given up only for another endpoint: alone, it may be a SYN the kernel is still retrying.
    upstream.on('timeout', () => (this.balancer.hasOther(endpoint.id, link.tried) ? this.attemptFailed(link, upstream) : upstream.setTimeout(0)));
    upstream.on('error', () => (link.connected ? link.upstream === upstream && link.client.destroy() : this.attemptFailed(link, upstream)));
    upstream.once('close', () => {
      const left = this.open.get(endpoint.id)! - 1;
      if (left > 0) this.open.set(endpoint.id, left);
      else this.open.delete(endpoint.id);
      this.events.openChanged(endpoint.id);
      if (link.upstream !== upstream) return; // an attempt that failed
      if (link.requestAt >= 0) this.events.record(endpoint.group, false); // closed with a request unanswered
      if (!cleanlyDone(upstream)) link.client.destroy();
    });
    upstream.once('connect', () => this.pipe(link, upstream, endpoint));
  }

  /** The connect to the link's current endpoint failed before any byte went back: count it, try another endpoint. */
  private attemptFailed(link: Link, upstream: net.Socket): void {
    if (link.upstream !== upstream || link.connected) return;
    upstream.destroy();
    const endpoint = link.endpoint!;
    this.events.record(endpoint.group, false);
    (link.tried ??= new Set()).add(endpoint.id);
    link.upstream = undefined;
    link.endpoint = undefined;
    this.connect(link);
  }

  /** No endpoint left to try: wait for the rotation to change, until the link's wait budget is spent. */
  private wait(link: Link): void {
    const left = link.acceptedAt + this.endpointWaitMs - performance.now();
    if (left <= 0) {
      link.client.destroy();
      return;
    }
    this.waiting.add(link);
    link.timer = setTimeout(() => {
      this.waiting.delete(link);
      link.client.destroy();
    }, left);
  }

  private pipe(link: Link, upstream: net.Socket, endpoint: Endpoint): void {
    link.connected = true;
    upstream.setTimeout(0);
    const { client } = link;
    if (this.opts.httpAware) {
      client.on('data', (chunk: Buffer) => {
        // Only HTTP requests are timed and counted: other protocols (a client that never hears back, a banner) are no errors.
        if (link.requestAt < 0 && isHttpRequest(chunk)) link.requestAt = performance.now();
      });
      upstream.on('data', (chunk: Buffer) => {
        if (link.requestAt < 0) return; // the rest of a response
        const status = statusOf(chunk);
        if (status) this.events.record(endpoint.group, status < 500, Math.round((performance.now() - link.requestAt) * 100) / 100);
        link.requestAt = -1;
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}
