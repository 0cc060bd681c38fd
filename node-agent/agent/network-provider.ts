/**
 * The agent's NetworkProvider over the API: a Container joins the Networks it names (or its namespace's
 * `default` Network) with the addresses the network controller allocated in `Network.status.allocations`;
 * `NodeNetworking` does the attaching (namespace, veths, names, /etc files). Networks deleted from the API
 * have their bridges and DNS servers removed from the node.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiClient, Container, Network, RESOURCES } from '../../client';
import { allocationOwner, memberRecordsOf, networkNamesOf, type NetworkStatus } from '../../controllers/network';
import { Informer, keyOf, listWatcherFor } from '../../controllers/runtime';
import { BerthNetworkProvider, containerNetnsName, listNetns, type NetworkConfig, type NetworkDriverName, type NodeNetworking, type OverlayPeers, type ResolvedAttachment } from '../network';
import { runtimeIdOf } from './supervisor';
import type { ContainerObject, NetworkProvider, NetworkSetup } from './types';

/** Drivers that hand out no addresses: their Containers need no allocation to attach. */
const DRIVERS_WITHOUT_IPAM: ReadonlySet<string> = new Set(['host', 'none']);

export interface ApiNetworkProviderOptions {
  readonly client: ApiClient;
  readonly networking: NodeNetworking;
  /** Per-container hosts and resolv.conf files live in `<etcRoot>/<containerId>/`. */
  readonly etcRoot: string;
  /** How long attach waits for the network controller's allocation before failing (the supervisor retries). */
  readonly allocationTimeoutMs?: number;
  /** This node: at start, its running containers' names, DNS servers and /etc files come back (live-restore). */
  readonly nodeName?: string;
  /** This node's VTEP and the other nodes' (started and stopped with this provider); overlay Networks need it. */
  readonly overlayPeers?: OverlayPeers;
}

export class ApiNetworkProvider implements NetworkProvider {
  private readonly networks: Informer<Network>;
  private readonly attachments: BerthNetworkProvider;
  /** What each container was attached with, so detach works even after its Network object is gone. */
  private readonly attached = new Map<string, Map<string, ResolvedAttachment>>();
  private readonly waiters = new Set<() => void>();
  /** One `ensureNetwork` per Network key, shared by containers attaching at once (its device and rule setup is not concurrency-safe). */
  private readonly ensured = new Map<string, Promise<void>>();
  private removals: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ApiNetworkProviderOptions) {
    this.networks = new Informer(listWatcherFor<Network>(opts.client, RESOURCES.networks));
    this.attachments = new BerthNetworkProvider({ networking: opts.networking, etcRoot: opts.etcRoot, resolve: async (c, name) => this.resolve(c, name) });
    const wake = () => this.waiters.forEach((w) => w());
    const changed = (n: Network) => {
      wake();
      this.syncOverlayMembers(n);
    };
    this.networks.addHandlers({ onAdd: changed, onUpdate: (_old, n) => changed(n), onDelete: (n) => this.removeFromNode(n) });
    opts.overlayPeers?.onChange(() => this.followOverlayPeers());
  }

  async start(): Promise<void> {
    await this.opts.overlayPeers?.start();
    this.networks.start();
    await this.networks.waitForSync();
    if (this.opts.nodeName) await this.adoptRunning(this.opts.nodeName);
  }

  stop(): void {
    this.networks.stop();
    this.opts.overlayPeers?.stop();
  }

  /** The node-level identity (`NetworkConfig.key`) of Network `namespace/name`, if it has an address plan. */
  networkKeyOf(namespace: string, name: string): string | undefined {
    return this.networks.get(`${namespace}/${name}`)?.metadata.uid;
  }

  async attach(c: ContainerObject, containerId: string): Promise<NetworkSetup> {
    const names = networkNamesOf(c.spec);
    const resolved = new Map<string, ResolvedAttachment>();
    for (const [index, name] of names.entries()) {
      const field = c.spec.networks?.length ? `spec.networks[${index}]` : 'spec.networks (the namespace default)';
      const attachment = await this.waitForAddress(c, name, field);
      if (attachment.network.driver === 'none') continue; // loopback only: what the runtime gives a container with no networks
      await this.ensureNetwork(attachment.network);
      resolved.set(name, attachment);
    }
    this.attached.set(containerId, resolved);
    // Each interface gets a MAC derived from its address (names.ts containerMacAddress says why).
    return this.attachments.attach(withNetworks(c, [...resolved.keys()]), containerId);
  }

  async detach(c: ContainerObject, containerId: string): Promise<void> {
    const joined = this.attached.get(containerId)?.keys() ?? networkNamesOf(c.spec).filter((n) => this.networks.get(`${c.metadata.namespace}/${n}`)?.spec.driver !== 'none');
    try {
      await this.attachments.detach(withNetworks(c, [...joined]), containerId);
    } catch (err) {
      // The Network is unknown here (deleted, or never attached by this agent process): removing the
      // container's namespace removes its veth ends too; the bridge goes with the Network.
      console.error(JSON.stringify({ component: 'berth-agent-network', containerId, msg: 'detach without network details', err: (err as Error).message }));
      await this.opts.networking.tearDownContainer({ containerId, name: c.metadata.name, namespace: c.metadata.namespace, networks: [] });
      fs.rmSync(path.join(this.opts.etcRoot, containerId), { recursive: true, force: true });
    }
    this.attached.delete(containerId);
  }

  /**
   * Containers attached by an earlier agent process keep their namespace and veths (the supervisor re-adopts the
   * process without attaching again); this agent's NodeNetworking learns them back from their reported networks.
   */
  private async adoptRunning(nodeName: string): Promise<void> {
    const existing = new Set(listNetns());
    const bound = await this.opts.client.list<Container>(RESOURCES.containers, { namespace: '', fieldSelector: `spec.nodeName=${nodeName}` });
    for (const container of bound.items) {
      const c = container as unknown as ContainerObject;
      const id = runtimeIdOf(c);
      if (c.metadata.deletionTimestamp || !c.status?.networks?.length || !existing.has(containerNetnsName(id))) continue;
      const resolved = new Map<string, ResolvedAttachment>();
      for (const { name } of c.status.networks) {
        const found = this.lookup(c, name);
        if (typeof found !== 'string') resolved.set(name, found);
      }
      this.attached.set(id, resolved);
      const request = { containerId: id, name: c.metadata.name, namespace: c.metadata.namespace, networks: [...resolved.values()], etcDir: path.join(this.opts.etcRoot, id) };
      await this.opts.networking.adoptContainer(request).catch((err: Error) => console.error(JSON.stringify({ component: 'berth-agent-network', containerId: id, msg: 'cannot re-adopt networking', err: err.message })));
    }
    for (const net of this.networks.list()) this.syncOverlayMembers(net); // overlays set up again just now
  }

  private ensureNetwork(config: NetworkConfig): Promise<void> {
    let ensured = this.ensured.get(config.key);
    if (!ensured) {
      ensured = this.opts.networking.ensureNetwork(config).then(() => {
        const net = this.networks.list().find((n) => n.metadata.uid === config.key);
        if (net) this.syncOverlayMembers(net);
      });
      this.ensured.set(config.key, ensured);
      ensured.catch(() => this.ensured.delete(config.key)); // the next attach tries again
    }
    return ensured;
  }

  private resolve(c: ContainerObject, name: string): ResolvedAttachment {
    // BerthNetworkProvider passes the Container, not the id; the supervisor's id is runtimeIdOf(c).
    const cached = this.attached.get(runtimeIdOf(c))?.get(name);
    if (cached) return cached;
    const found = this.lookup(c, name);
    if (typeof found === 'string') throw new Error(found);
    return found;
  }

  /** The Network and the container's address on it, or why they are not there yet. */
  private lookup(c: ContainerObject, name: string): ResolvedAttachment | string {
    const net = this.networks.get(`${c.metadata.namespace}/${name}`);
    if (!net) return `network ${c.metadata.namespace}/${name} does not exist`;
    const status = (net.status ?? {}) as NetworkStatus;
    const driver = (net.spec.driver ?? 'bridge') as NetworkDriverName;
    const ready = status.conditions?.find((x) => x.type === 'Ready');
    if (DRIVERS_WITHOUT_IPAM.has(driver)) return { network: configOf(net, driver, '', ''), address: '' };
    const address = status.allocations?.[allocationOwner(c.metadata.namespace, c.metadata.name)];
    const notReady = ready?.status === 'False' ? ` (${ready.reason}: ${ready.message})` : '';
    if (!address || !status.subnet || !status.gateway) return `network ${c.metadata.namespace}/${name} has no address for the container yet${notReady}`;
    if (driver !== 'overlay') return { network: configOf(net, driver, status.subnet, status.gateway), address };
    const overlay = this.overlayConfigOf(net);
    return typeof overlay === 'string' ? `network ${c.metadata.namespace}/${name}: ${overlay}${notReady}` : { network: overlay, address };
  }

  /** An overlay Network's config with its VNI and this node's current peers, or why it cannot be set up here. */
  private overlayConfigOf(net: Network): NetworkConfig | string {
    const status = (net.status ?? {}) as NetworkStatus;
    if (!this.opts.overlayPeers) return 'overlay Networks need a VTEP address on this node (the agent was started without one)';
    if (status.vni === undefined || !status.subnet || !status.gateway) return 'no VNI assigned yet';
    return { ...configOf(net, 'overlay', status.subnet, status.gateway), overlay: this.opts.overlayPeers.overlayOf(status.vni) };
  }

  /** Overlay Networks set up here get the other nodes' containers' names from the API (the Network's allocations). */
  private syncOverlayMembers(net: Network): void {
    const allocations = (net.status as NetworkStatus | undefined)?.allocations;
    if (net.spec.driver !== 'overlay' || !allocations) return;
    this.opts.networking.setMemberRecords(net.metadata.uid!, memberRecordsOf(allocations));
  }

  /** Nodes came or went: every overlay set up here gets the new flood list (after any set-up still running). */
  private followOverlayPeers(): void {
    for (const net of this.networks.list()) {
      const key = net.metadata.uid!;
      const previous = this.ensured.get(key);
      const config = net.spec.driver === 'overlay' && (previous || this.opts.networking.hasNetwork(key)) ? this.overlayConfigOf(net) : undefined;
      if (!config || typeof config === 'string') continue;
      const next = (previous ?? Promise.resolve()).catch(() => undefined).then(() => this.opts.networking.ensureNetwork(config));
      this.ensured.set(config.key, next);
      next.catch((err: Error) => {
        if (this.ensured.get(config.key) === next) this.ensured.delete(config.key); // the next attach tries again
        console.error(JSON.stringify({ component: 'berth-agent-network', network: keyOf(net), msg: 'cannot update overlay peers', err: err.message }));
      });
    }
  }

  private waitForAddress(c: ContainerObject, name: string, field: string): Promise<ResolvedAttachment> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.lookup(c, name);
        if (typeof found === 'string') return false;
        done();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        const why = this.lookup(c, name);
        done();
        reject(new Error(`${field}: ${typeof why === 'string' ? why : 'no address'} after ${this.timeoutMs()} ms`));
      }, this.timeoutMs());
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  private timeoutMs(): number {
    return this.opts.allocationTimeoutMs ?? 10_000;
  }

  /** The Network left the API (its finalizer waited for every Container): its bridge and DNS server go too. */
  private removeFromNode(net: Network): void {
    const status = (net.status ?? {}) as NetworkStatus;
    if (!status.subnet || !status.gateway) return;
    const config = configOf(net, (net.spec.driver ?? 'bridge') as NetworkDriverName, status.subnet, status.gateway);
    this.ensured.delete(config.key);
    this.removals = this.removals.then(() =>
      this.opts.networking.removeNetwork(config).catch((err: Error) => console.error(JSON.stringify({ component: 'berth-agent-network', network: keyOf(net), msg: 'cannot remove network', err: err.message }))),
    );
  }
}

/** The Container as BerthNetworkProvider reads it: with its Networks (or the default) named explicitly. */
const withNetworks = (c: ContainerObject, names: readonly string[]): ContainerObject => ({ ...c, spec: { ...c.spec, networks: names } });

function configOf(net: Network, driver: NetworkDriverName, subnet: string, gateway: string): NetworkConfig {
  const spec = net.spec as { internal?: boolean; mtu?: number };
  return { key: net.metadata.uid!, name: net.metadata.name!, namespace: net.metadata.namespace!, driver, subnet, gateway, internal: spec.internal, mtu: spec.mtu };
}
