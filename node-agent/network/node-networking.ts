/**
 * The agent's one entry to networking on a node: Networks (devices + embedded DNS), containers (namespace,
 * attachments, name records, /etc/hosts and /etc/resolv.conf), Service names and published ports.
 * Addresses come from IPAM (the network controller); this class only applies them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RecordTable, type NameRecord } from './dns-records';
import { DnsServer, DNS_PORT } from './dns-server';
import { createDriver } from './drivers';
import { renderHostsFile, renderResolvConf, writeInPlace, writeInPlaceAsync } from './etc-files';
import { containerNetnsName } from './names';
import { createNetns, deleteNetns, netnsPathOf } from './netns';
import { PortInUseError, TcpForwarder, type PortTarget } from './port-forwarder';
import type { Attachment, NetworkConfig, NetworkDriver, NetworkDriverName } from './types';

export interface NodeNetworkingOptions {
  /** Namespace playing the host (simulated hosts in tests); the agent's own when undefined. */
  readonly hostNetns?: string;
  /** Port of the embedded DNS servers; 53 unless set. */
  readonly dnsPort?: number;
}

export interface ContainerNetworkRequest {
  /** Unique on the node (the Container's uid); names its namespace and veths. */
  readonly containerId: string;
  /** The Container's name and namespace: what other containers resolve. */
  readonly name: string;
  readonly namespace: string;
  /** In order: the first is eth0 and, unless internal, carries the default route. Empty means driver `none`. */
  readonly networks: readonly { readonly network: NetworkConfig; readonly address: string }[];
  /** Directory to write `hosts` and `resolv.conf` into (bind-mounted over the container's /etc files by the runtime). */
  readonly etcDir?: string;
}

export interface ContainerNetworkSetup {
  /** For `linux.namespaces[{type: "network", path}]`; undefined for host networking (share the node's). */
  readonly netnsPath?: string;
  readonly attachments: readonly Attachment[];
  readonly hostsPath?: string;
  readonly resolvConfPath?: string;
}

export class NetworkInUseError extends Error {
  constructor(
    readonly network: NetworkConfig,
    readonly containers: readonly string[],
  ) {
    super(`network ${network.namespace}/${network.name} is in use by ${containers.length} container(s): ${containers.join(', ')}`);
    this.name = 'NetworkInUseError';
  }
}

interface NetworkState {
  readonly config: NetworkConfig;
  readonly records: RecordTable;
  /** Bridge and overlay networks in the agent's own namespace get a DNS server; others resolve through hosts files. */
  dns?: DnsServer;
  /** Names last set by `setMemberRecords` (`namespace/name`), so members that left are removed. */
  members: ReadonlySet<string>;
}

export class NodeNetworking {
  private readonly networks = new Map<string, NetworkState>();
  private readonly containers = new Map<string, ContainerNetworkRequest>();
  private readonly forwarders = new Map<string, TcpForwarder>();
  private readonly drivers = new Map<NetworkDriverName, NetworkDriver>();
  private readonly ensuring = new Map<string, Promise<void>>();

  constructor(private readonly options: NodeNetworkingOptions = {}) {}

  /** Creates the Network's devices and starts its DNS server (idempotent). */
  ensureNetwork(config: NetworkConfig): Promise<void> {
    // Containers attaching at once to a new Network share one set-up (one DNS socket can bind the gateway).
    let pending = this.ensuring.get(config.key);
    if (!pending) {
      pending = this.ensureNow(config).finally(() => this.ensuring.delete(config.key));
      this.ensuring.set(config.key, pending);
    }
    return pending;
  }

  private async ensureNow(config: NetworkConfig): Promise<void> {
    await this.driver(config.driver).ensureNetwork(config);
    let state = this.networks.get(config.key);
    if (!state) {
      state = { config, records: new RecordTable(config.namespace), members: new Set() };
      this.networks.set(config.key, state);
    }
    if (!state.dns && (config.driver === 'bridge' || config.driver === 'overlay') && !this.options.hostNetns) {
      const dns = new DnsServer(state.records, { address: config.gateway, port: this.options.dnsPort ?? DNS_PORT });
      await dns.start();
      state.dns = dns;
    }
  }

  /** Whether the Network is set up on this node (by an attach, or re-adopted after a restart). */
  hasNetwork(networkKey: string): boolean {
    return this.networks.has(networkKey);
  }

  /** Stops the DNS server and removes the devices; refuses (`NetworkInUseError`) while containers are attached to it. */
  async removeNetwork(config: NetworkConfig): Promise<void> {
    const users = [...this.containers.values()].filter((c) => c.networks.some((n) => n.network.key === config.key));
    if (users.length > 0) throw new NetworkInUseError(config, users.map((c) => `${c.namespace}/${c.name}`));
    const state = this.networks.get(config.key);
    await state?.dns?.stop();
    this.networks.delete(config.key);
    await this.driver(config.driver).removeNetwork(config);
  }

  /** Creates the container's namespace, attaches it to each network, publishes its name and writes its /etc files. */
  async setUpContainer(request: ContainerNetworkRequest): Promise<ContainerNetworkSetup> {
    if (request.networks.some((n) => n.network.driver === 'host')) {
      if (request.networks.length > 1) throw new Error(`container ${request.containerId}: host networking cannot be combined with other networks`);
      return { attachments: [] };
    }
    const netnsName = containerNetnsName(request.containerId);
    const netnsPath = netnsPathOf(netnsName);
    // Not waited for before a bridge attach: the node's `ip` session runs batches in the order they were written,
    // so the attach's `link add ... netns` finds the namespace, one trip through that queue sooner under a burst of
    // starts. Other drivers (and bridges in another namespace, a session of their own) wait for it.
    const created = createNetns(netnsName);
    created.catch(() => undefined); // awaited below, and reported first if it fails
    const attachments: Attachment[] = [];
    try {
      if (this.options.hostNetns || request.networks.some((n) => n.network.driver !== 'bridge') || request.networks.length === 0) await created;
      let defaultRouteTaken = false;
      for (const [index, { network, address }] of request.networks.entries()) {
        if (!this.networks.has(network.key)) await this.ensureNetwork(network); // attach recreates a bridge deleted behind our back
        const defaultRoute: boolean = !network.internal && !defaultRouteTaken;
        defaultRouteTaken ||= defaultRoute;
        attachments.push(await this.driver(network.driver).attach(network, request.containerId, netnsPath, address, { interfaceName: `eth${index}`, defaultRoute }));
      }
      if (request.networks.length === 0) attachments.push(await this.driver('none').attach(noneNetwork(request), request.containerId, netnsPath, ''));
      await created;
    } catch (err) {
      await this.tearDownContainer(request);
      // The namespace's own failure, if it failed: the attach only failed for lack of it.
      throw await created.then(
        () => err,
        (netnsErr: unknown) => netnsErr,
      );
    }
    this.containers.set(request.containerId, request);
    for (const { network, address } of request.networks) {
      this.networks.get(network.key)?.records.set({ name: request.name, namespace: request.namespace, addresses: [address] });
    }
    const etcFiles = await this.writeEtcFiles(request); // creates etcDir, which refreshing hosts files expects
    this.refreshHostsFiles(request.networks.map((n) => n.network.key));
    return { netnsPath, attachments, ...etcFiles };
  }

  /**
   * Takes a container that is already set up back into this (restarted) agent: records its names and keeps its
   * hosts file current, without touching its namespace or devices (live-restore).
   */
  async adoptContainer(request: ContainerNetworkRequest): Promise<void> {
    for (const { network } of request.networks) if (!this.networks.has(network.key)) await this.ensureNetwork(network);
    this.containers.set(request.containerId, request);
    for (const { network, address } of request.networks) {
      this.networks.get(network.key)?.records.set({ name: request.name, namespace: request.namespace, addresses: [address] });
    }
    this.refreshHostsFiles(request.networks.map((n) => n.network.key));
  }

  /** Removes the container's name records, devices and namespace (idempotent). */
  async tearDownContainer(request: ContainerNetworkRequest): Promise<void> {
    this.containers.delete(request.containerId);
    for (const { network } of request.networks) {
      this.networks.get(network.key)?.records.delete(request.name, request.namespace);
      await this.driver(network.driver).detach(network, request.containerId);
    }
    await deleteNetns(containerNetnsName(request.containerId));
    this.refreshHostsFiles(request.networks.map((n) => n.network.key));
  }

  /**
   * Publishes a name on a network: a Service (its ready endpoints' addresses), or a container on another node of
   * an overlay (each node's DNS server answers for the whole overlay). An empty address list removes it.
   */
  setServiceRecord(networkKey: string, record: NameRecord): void {
    const state = this.networks.get(networkKey);
    if (!state) throw new Error(`network ${networkKey} is not set up on this node`);
    if (record.addresses.length === 0) state.records.delete(record.name, record.namespace);
    else state.records.set(record);
    this.refreshHostsFiles([networkKey]);
  }

  /**
   * Makes the names of an overlay Network's containers on every node (from the API: the Network's allocations)
   * resolvable here: `records` replaces the previous call's set. A Network not set up on this node is skipped
   * (it gets them when it is). Local containers' own records come and go with them as well.
   */
  setMemberRecords(networkKey: string, records: readonly NameRecord[]): void {
    const state = this.networks.get(networkKey);
    if (!state) return;
    const members = new Set(records.map((r) => `${r.namespace}/${r.name}`));
    for (const record of state.records.list()) {
      if (state.members.has(`${record.namespace}/${record.name}`) && !members.has(`${record.namespace}/${record.name}`)) state.records.delete(record.name, record.namespace);
    }
    for (const record of records) state.records.set(record);
    state.members = members;
    this.refreshHostsFiles([networkKey]);
  }

  /** Forwards `hostAddress:hostPort` (127.0.0.1 by default) to a target picked per connection. Rejects with `PortInUseError`. */
  async publishPort(hostPort: number, pickTarget: () => PortTarget | undefined, hostAddress = '127.0.0.1'): Promise<number> {
    const key = `${hostAddress}:${hostPort}`;
    if (this.forwarders.has(key)) throw new PortInUseError(hostAddress, hostPort);
    const forwarder = new TcpForwarder({ hostPort, hostAddress, pickTarget });
    const port = await forwarder.start();
    this.forwarders.set(`${hostAddress}:${port}`, forwarder);
    return port;
  }

  async unpublishPort(hostPort: number, hostAddress = '127.0.0.1'): Promise<void> {
    const key = `${hostAddress}:${hostPort}`;
    await this.forwarders.get(key)?.stop();
    this.forwarders.delete(key);
  }

  /** Stops DNS servers and forwarders; leaves devices and namespaces alone, so containers keep running (live-restore). */
  async close(): Promise<void> {
    for (const forwarder of this.forwarders.values()) await forwarder.stop();
    this.forwarders.clear();
    for (const state of this.networks.values()) await state.dns?.stop();
  }

  private driver(name: NetworkDriverName): NetworkDriver {
    let driver = this.drivers.get(name);
    if (!driver) {
      driver = createDriver(name, { hostNetns: this.options.hostNetns });
      this.drivers.set(name, driver);
    }
    return driver;
  }

  private async writeEtcFiles(request: ContainerNetworkRequest): Promise<{ hostsPath?: string; resolvConfPath?: string }> {
    if (!request.etcDir) return {};
    await fs.promises.mkdir(request.etcDir, { recursive: true });
    const hostsPath = path.join(request.etcDir, 'hosts');
    const resolvConfPath = path.join(request.etcDir, 'resolv.conf');
    const nameservers = request.networks.flatMap(({ network }) => (this.networks.get(network.key)?.dns ? [network.gateway] : []));
    await Promise.all([
      writeInPlaceAsync(hostsPath, this.hostsFileOf(request)),
      writeInPlaceAsync(resolvConfPath, renderResolvConf({ nameservers: nameservers.slice(0, 1), namespace: request.namespace })),
    ]);
    return { hostsPath, resolvConfPath };
  }

  /** Self, plus every name of the container's networks that have no DNS server (they resolve through this file). */
  private hostsFileOf(request: ContainerNetworkRequest): string {
    const records = request.networks.flatMap(({ network }) => {
      const state = this.networks.get(network.key);
      return state && !state.dns ? state.records.list().filter((r) => !(r.name === request.name && r.namespace === request.namespace)) : [];
    });
    const self = request.networks[0] ? { hostname: request.name, address: request.networks[0].address } : undefined;
    return renderHostsFile({ self, records });
  }

  /** Rewrites the hosts files of containers on `networkKeys` that resolve names through them. */
  private refreshHostsFiles(networkKeys: readonly string[]): void {
    const affected = new Set(networkKeys.filter((key) => !this.networks.get(key)?.dns));
    if (affected.size === 0) return;
    for (const container of this.containers.values()) {
      if (container.etcDir && container.networks.some((n) => affected.has(n.network.key))) {
        writeInPlace(path.join(container.etcDir, 'hosts'), this.hostsFileOf(container));
      }
    }
  }
}

function noneNetwork(request: ContainerNetworkRequest): NetworkConfig {
  return { key: `none/${request.containerId}`, name: 'none', namespace: request.namespace, driver: 'none', subnet: '127.0.0.0/8', gateway: '127.0.0.1' };
}
