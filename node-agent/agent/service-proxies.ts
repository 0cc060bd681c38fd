/**
 * The service proxy of a node: for each Service with published ports, a `ServiceProxy` on
 * 127.0.0.1:publishedPort over the Service's ready Containers, weighted by `status.weights` (the rollout's
 * traffic split), plus one on the BlueGreen preview port over the preview revision. Also publishes each
 * Service's name on its Networks and reports the canary revision's measured traffic in `status.traffic`.
 */
import { ApiClient, Container, RESOURCES, Service } from '../../client';
import { networkNamesOf } from '../../controllers/network';
import { EventRecorder, Informer, keyOf, listWatcherFor } from '../../controllers/runtime';
import { REVISION_LABEL, SERVICE_LABEL } from '../../controllers/service';
import type { NodeNetworking } from '../network';
import { ServiceProxy, type Endpoint, type GroupStats } from '../proxy';
import type { AgentPart } from './agent';

export const REASON_PORT_IN_USE = 'PortInUse';
/** How soon a published port that could not be listened on is tried again (it may be freed without any object changing). */
const LISTEN_RETRY_MS = 2000;

export interface ServiceProxiesOptions {
  readonly client: ApiClient;
  readonly networking: NodeNetworking;
  /** The node-level key of Network `namespace/name` (ApiNetworkProvider.networkKeyOf). */
  readonly networkKeyOf: (namespace: string, name: string) => string | undefined;
  /** Address the published ports listen on; 127.0.0.1 unless set (nothing is exposed off the machine). */
  readonly host?: string;
  /** How often the canary's traffic goes to `status.traffic`; 2 s unless set. */
  readonly trafficReportMs?: number;
}

interface ServiceStatusView {
  weights?: Record<string, number>;
  currentRevision?: string;
  updateRevision?: string;
  rollout?: { previewRevision?: string };
}

interface ServicePortSpec {
  readonly port: number;
  readonly targetPort?: number | string;
  readonly publishedPort?: number;
}

/** One listening proxy: which port, which target port on the endpoints, and whether it serves only the preview. */
interface Listener {
  readonly proxy: ServiceProxy;
  readonly targetPort: number | string;
  readonly preview: boolean;
}

export class ServiceProxies implements AgentPart {
  private readonly services: Informer<Service>;
  private readonly containers: Informer<Container>;
  private readonly events: EventRecorder;
  /** Service key → `port` → its listener. */
  private readonly listeners = new Map<string, Map<number, Listener>>();
  /** Service key → Network keys its name is published on. */
  private readonly published = new Map<string, Set<string>>();
  /** Service key → the traffic last written, so unchanged numbers are not written again. */
  private readonly reported = new Map<string, string>();
  /** UIDs of Containers being drained: out of rotation at once, whether or not this part's cache saw their deletion yet. */
  private readonly draining = new Set<string>();
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly opts: ServiceProxiesOptions) {
    this.services = new Informer(listWatcherFor<Service>(opts.client, RESOURCES.services));
    this.containers = new Informer(listWatcherFor<Container>(opts.client, RESOURCES.containers, { labelSelector: SERVICE_LABEL }));
    this.events = new EventRecorder(opts.client, 'berth-service-proxy');
    const syncService = (s: Service) => this.sync(keyOf(s));
    this.services.addHandlers({ onAdd: syncService, onUpdate: (_o, s) => syncService(s), onDelete: syncService });
    const syncOwner = (c: Container) => this.sync(ownerKey(c));
    const gone = (c: Container) => {
      this.draining.delete(c.metadata.uid!);
      syncOwner(c);
    };
    this.containers.addHandlers({ onAdd: syncOwner, onUpdate: (_o, c) => syncOwner(c), onDelete: gone });
  }

  async start(): Promise<void> {
    this.services.start();
    this.containers.start();
    await Promise.all([this.services.waitForSync(), this.containers.waitForSync()]);
    for (const s of this.services.list()) this.sync(keyOf(s));
    this.timer = setInterval(() => void this.reportTraffic(), this.opts.trafficReportMs ?? 2000);
    this.timer.unref();
  }

  /**
   * Takes container `namespace/name` out of every proxy's rotation at once (the supervisor asks because it is about
   * to stop it: waiting for this part's own watch to see the deletion could outlast the bound), then resolves once
   * its in-flight connections have ended, or after `timeoutMs` (a verified drain). True if drained.
   */
  async drained(namespace: string, name: string, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    const container = this.containers.get(`${namespace}/${name}`);
    if (container && !this.draining.has(container.metadata.uid!)) {
      this.draining.add(container.metadata.uid!);
      this.sync(ownerKey(container));
    }
    const proxies = () => [...this.listeners].filter(([key]) => key.startsWith(`${namespace}/`)).flatMap(([, ports]) => [...ports.values()].map((l) => l.proxy));
    for (;;) {
      if (proxies().every((p) => p.isDrained(name))) return true;
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops watching and closes every published port. */
  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.services.stop();
    this.containers.stop();
    for (const key of [...this.listeners.keys()]) this.closeAll(key);
  }

  /** Brings the listeners, endpoints and name records of one Service in line with the caches. */
  private sync(key: string): void {
    const svc = this.services.get(key);
    if (!svc || svc.metadata.deletionTimestamp) {
      this.closeAll(key);
      this.publishName(key, undefined, []);
      return;
    }
    const wanted = wantedPorts(svc);
    const listeners = this.listeners.get(key) ?? new Map<number, Listener>();
    this.listeners.set(key, listeners);
    for (const [port, l] of listeners) {
      const w = wanted.get(port);
      if (!w || w.preview !== l.preview || w.targetPort !== l.targetPort) {
        void l.proxy.close();
        listeners.delete(port);
      }
    }
    for (const [port, w] of wanted) if (!listeners.has(port)) listeners.set(port, this.listen(svc, port, w));
    const ready = this.readyEndpoints(svc);
    const status = (svc.status ?? {}) as ServiceStatusView;
    for (const l of listeners.values()) l.proxy.setEndpoints(endpointsFor(ready, status, l));
    this.publishName(key, svc, ready);
  }

  private listen(svc: Service, port: number, w: Omit<Listener, 'proxy'>): Listener {
    const proxy = new ServiceProxy({ host: this.opts.host ?? '127.0.0.1', port, httpAware: true });
    proxy.listen().catch((err: Error) => {
      const key = keyOf(svc);
      if (this.listeners.get(key)?.get(port)?.proxy !== proxy) return; // closed or replaced meanwhile
      this.listeners.get(key)!.delete(port);
      setTimeout(() => {
        if (!this.stopped) this.sync(key);
      }, LISTEN_RETRY_MS).unref();
      void this.events.record(svc, 'Warning', REASON_PORT_IN_USE, `${w.preview ? 'strategy.blueGreen.previewPort' : 'ports[].publishedPort'} ${port}: ${err.message}`).catch(() => undefined);
    });
    return { proxy, ...w };
  }

  private closeAll(key: string): void {
    for (const l of this.listeners.get(key)?.values() ?? []) void l.proxy.close();
    this.listeners.delete(key);
    this.reported.delete(key);
  }

  /** Ready, not terminating Containers of the Service with an address: an endpoint leaves as soon as its deletion starts. */
  private readyEndpoints(svc: Service): Container[] {
    return this.containers
      .list(svc.metadata.namespace)
      .filter(
        (c) =>
          c.metadata.labels?.[SERVICE_LABEL] === svc.metadata.name &&
          !c.metadata.deletionTimestamp &&
          !this.draining.has(c.metadata.uid!) &&
          c.status?.ready === true &&
          typeof c.status.ip === 'string',
      );
  }

  /** `NAME` and `NAME.NAMESPACE` resolve to the ready endpoints on every Network the Service's template joins. */
  private publishName(key: string, svc: Service | undefined, ready: readonly Container[]): void {
    const [namespace, name] = key.split('/');
    const before = this.published.get(key) ?? new Set<string>();
    const now = new Set<string>();
    for (const network of svc ? networkNamesOf(svc.spec.template.spec) : []) {
      const networkKey = this.opts.networkKeyOf(namespace, network);
      if (!networkKey) continue;
      const addresses = ready.flatMap((c) => ((c.status?.networks ?? []) as Array<{ name: string; ip: string }>).filter((n) => n.name === network).map((n) => n.ip));
      if (this.setRecord(networkKey, { name, namespace, addresses })) now.add(networkKey);
    }
    for (const networkKey of before) if (!now.has(networkKey)) this.setRecord(networkKey, { name, namespace, addresses: [] });
    if (now.size > 0) this.published.set(key, now);
    else this.published.delete(key);
  }

  /** False when the Network is not set up on this node (no container of it runs here). */
  private setRecord(networkKey: string, record: { name: string; namespace: string; addresses: string[] }): boolean {
    try {
      this.opts.networking.setServiceRecord(networkKey, record);
      return true;
    } catch {
      return false;
    }
  }

  /** Writes the canary revision's numbers into `status.traffic` (merge patch of that field only: the service controller owns the rest). */
  private async reportTraffic(): Promise<void> {
    for (const [key, listeners] of this.listeners) {
      const svc = this.services.get(key);
      const status = (svc?.status ?? {}) as ServiceStatusView;
      const canary = status.updateRevision;
      if (!svc || svc.spec.strategy?.type !== 'Canary' || !canary || canary === status.currentRevision) continue;
      const stats = [...listeners.values()].filter((l) => !l.preview).map((l) => l.proxy.stats.snapshot()[canary]);
      const traffic = combine(stats.filter((s): s is GroupStats => s !== undefined));
      if (traffic.requests === 0) continue;
      const text = JSON.stringify({ canary, traffic });
      if (this.reported.get(key) === text) continue;
      try {
        await this.opts.client.patch(RESOURCES.services, svc.metadata.name!, { status: { traffic: { [canary]: traffic } } }, { namespace: svc.metadata.namespace, subresource: 'status' });
        this.reported.set(key, text);
      } catch (err) {
        console.error(JSON.stringify({ component: 'berth-service-proxy', service: key, msg: 'cannot report traffic', err: (err as Error).message }));
      }
    }
  }
}

/** The key of the Service a Container belongs to. */
const ownerKey = (c: Container): string => `${c.metadata.namespace}/${c.metadata.labels?.[SERVICE_LABEL]}`;

/** The ports a Service wants listened on: each `publishedPort`, and the BlueGreen `previewPort` (for the first port's target). */
function wantedPorts(svc: Service): Map<number, Omit<Listener, 'proxy'>> {
  const ports = (svc.spec.ports ?? []) as ServicePortSpec[];
  const wanted = new Map<number, Omit<Listener, 'proxy'>>();
  for (const p of ports) if (p.publishedPort) wanted.set(p.publishedPort, { targetPort: p.targetPort ?? p.port, preview: false });
  const strategy = svc.spec.strategy as { type?: string; blueGreen?: { previewPort?: number } } | undefined;
  const previewPort = strategy?.type === 'BlueGreen' ? strategy.blueGreen?.previewPort : undefined;
  if (previewPort && ports[0]) wanted.set(previewPort, { targetPort: ports[0].targetPort ?? ports[0].port, preview: true });
  return wanted;
}

/**
 * The rotation of one listener. Published ports: a revision's weight (status.weights, in percent or in ready
 * counts) split evenly over its ready endpoints; every endpoint counts 1 before the controller wrote weights.
 * The preview port: the preview revision's endpoints only.
 */
export function endpointsFor(ready: readonly Container[], status: ServiceStatusView, listener: Pick<Listener, 'targetPort' | 'preview'>): Endpoint[] {
  const revisionOf = (c: Container) => c.metadata.labels?.[REVISION_LABEL] ?? '';
  const perRevision = new Map<string, number>();
  for (const c of ready) perRevision.set(revisionOf(c), (perRevision.get(revisionOf(c)) ?? 0) + 1);
  const weights = status.weights && Object.keys(status.weights).length > 0 ? status.weights : undefined;
  const weightOf = (revision: string): number => {
    if (listener.preview) return revision === status.rollout?.previewRevision ? 1 : 0;
    return weights ? (weights[revision] ?? 0) / perRevision.get(revision)! : 1;
  };
  return ready
    .map((c) => ({ id: c.metadata.name!, host: c.status!.ip as string, port: targetPortOf(c, listener.targetPort), weight: weightOf(revisionOf(c)), group: revisionOf(c) }))
    .filter((e) => e.weight > 0 && e.port > 0);
}

/** A numeric targetPort, or a named one looked up in the Container's `spec.ports[].name` (0 when it has none). */
function targetPortOf(c: Container, targetPort: number | string): number {
  if (typeof targetPort === 'number') return targetPort;
  const named = ((c.spec.ports ?? []) as Array<{ name?: string; containerPort: number }>).find((p) => p.name === targetPort);
  return named?.containerPort ?? (/^\d+$/.test(targetPort) ? Number(targetPort) : 0);
}

/** One revision's numbers over several listeners: summed requests, request-weighted error rate, worst p99. */
function combine(stats: readonly GroupStats[]): { requests: number; errorRate: number; latencyP99Ms: number } {
  const requests = stats.reduce((n, s) => n + s.requests, 0);
  const errors = stats.reduce((n, s) => n + s.errors, 0);
  return { requests, errorRate: requests ? errors / requests : 0, latencyP99Ms: Math.max(0, ...stats.map((s) => s.latencyP99Ms)) };
}
