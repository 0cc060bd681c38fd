import type { Endpoint } from './balancer';
import type { ServiceProxyOptions } from './listener';
import type { FromProxyThread, ToProxyThread } from './messages';
import { ProxyStats } from './stats';
import { proxyThread } from './thread';

/**
 * One published port of a Service, as the agent sees it: the forwarding itself runs on the proxy thread
 * (./worker), this object holds the rotation it asked for, the open-connection counts and request outcomes the
 * thread reported, and answers drain questions from them.
 */
export class ServiceProxy {
  /** Per-revision outcomes, at most a few milliseconds behind the thread (canary analysis). */
  readonly stats = new ProxyStats();
  private readonly id: number;
  private endpoints: readonly Endpoint[] = [];
  private rotation = new Set<string>();
  private version = 0;
  private acknowledged = 0;
  private open = new Map<string, number>();
  private listening = false;
  private listenWaiter?: { resolve: (port: number) => void; reject: (err: Error) => void };
  private closeWaiter?: () => void;
  private closed?: Promise<void>;
  private readonly syncWaiters = new Map<number, () => void>();
  private syncSeq = 0;

  constructor(private readonly opts: ServiceProxyOptions) {
    this.id = proxyThread.add({ replay: () => this.replay(), receive: (m) => this.receive(m) });
    proxyThread.post({ type: 'create', proxy: this.id, options: opts });
  }

  /** Replaces the rotation. Connections to endpoints no longer listed keep going until they end. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    this.endpoints = endpoints.map((e) => ({ ...e }));
    this.rotation = new Set(endpoints.filter((e) => e.weight > 0).map((e) => e.id));
    proxyThread.post({ type: 'endpoints', proxy: this.id, version: ++this.version, endpoints: this.endpoints });
  }

  /** Open connections to endpoint `id` (what a drain waits for), connects in progress included, as last reported. */
  connections(id: string): number {
    return this.open.get(id) ?? 0;
  }

  /**
   * Whether endpoint `id` is drained: out of the rotation, the thread has applied that rotation, and no connection
   * is left open to it. Counts reported after the rotation applied only fall for an endpoint outside it, so a stale
   * count errs towards waiting.
   */
  isDrained(id: string): boolean {
    return !this.rotation.has(id) && this.acknowledged === this.version && this.connections(id) === 0;
  }

  /** Starts listening; on failure (port taken) the proxy is closed and rejects with the reason. */
  listen(): Promise<number> {
    this.listening = true;
    return new Promise((resolve, reject) => {
      this.listenWaiter = { resolve, reject };
      proxyThread.post({ type: 'listen', proxy: this.id });
    });
  }

  /** Stops accepting and closes every open connection (once: later calls return the same promise). */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.closeWaiter = resolve;
      proxyThread.post({ type: 'close', proxy: this.id });
    }).then(() => proxyThread.remove(this.id));
    return this.closed;
  }

  /** Resolves once every count and outcome the thread had when asked is reflected here. */
  sync(): Promise<void> {
    const seq = ++this.syncSeq;
    return new Promise((resolve) => {
      this.syncWaiters.set(seq, resolve);
      proxyThread.post({ type: 'sync', proxy: this.id, seq });
    });
  }

  private receive(m: FromProxyThread): void {
    switch (m.type) {
      case 'report':
        this.acknowledged = m.version;
        this.open = new Map(m.open);
        for (const [group, ok, latencyMs] of m.outcomes) this.stats.record(group, ok, Number.isNaN(latencyMs) ? undefined : latencyMs);
        break;
      case 'listening':
        this.listenWaiter?.resolve(m.port);
        break;
      case 'listenFailed':
        this.listening = false;
        this.listenWaiter?.reject(new Error(m.message));
        void this.close(); // nothing to serve: frees its place on the thread (a new ServiceProxy tries again)
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

  /** A fresh thread knows nothing: its connections died with the old one, so nothing is open any more. */
  private replay(): ToProxyThread[] {
    if (this.closed) {
      this.closeWaiter?.(); // closed with the old thread
      return [];
    }
    this.open = new Map();
    this.acknowledged = 0;
    const messages: ToProxyThread[] = [{ type: 'create', proxy: this.id, options: this.opts }];
    if (this.listening) messages.push({ type: 'listen', proxy: this.id });
    if (this.version > 0) messages.push({ type: 'endpoints', proxy: this.id, version: this.version, endpoints: this.endpoints });
    return messages;
  }
}
