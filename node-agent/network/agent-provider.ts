/**
 * The agent's `NetworkProvider` over `NodeNetworking`: turns a Container's `spec.networks` into attachments,
 * returns the namespace for the runtime and bind mounts for /etc/hosts and /etc/resolv.conf, and publishes its
 * `spec.ports[].hostPort`s.
 * Which subnet a Network has and which address a container gets are the API's (the Network object and the
 * network controller's IPAM); `resolve` fetches them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ContainerObject, NetworkProvider, NetworkSetup } from '../agent';
import type { ContainerNetworkRequest, NodeNetworking } from './node-networking';
import type { NetworkConfig } from './types';

/** A Network named by a Container, and the address IPAM gave the container on it. */
export interface ResolvedAttachment {
  readonly network: NetworkConfig;
  readonly address: string;
}

/** `Container.spec.ports[]` as the CRD defines it (the agent's `ContainerSpec` type does not list it yet). */
interface ContainerPortSpec {
  readonly containerPort: number;
  readonly hostPort?: number;
  readonly hostIP?: string;
  readonly protocol?: string;
}

export interface BerthNetworkProviderOptions {
  readonly networking: NodeNetworking;
  /** Looks up Network `networkName` in the container's namespace and the container's address on it. */
  readonly resolve: (container: ContainerObject, networkName: string) => Promise<ResolvedAttachment>;
  /** Directory for per-container hosts and resolv.conf files (`<dir>/<containerId>/`). */
  readonly etcRoot: string;
}

export class BerthNetworkProvider implements NetworkProvider {
  /** Published host ports per container id, to unpublish exactly those. */
  private readonly published = new Map<string, { hostPort: number; hostIP: string }[]>();

  constructor(private readonly options: BerthNetworkProviderOptions) {}

  /** Containers without `spec.networks` get `{ networks: [] }`: the runtime gives them a private loopback-only namespace. */
  async attach(c: ContainerObject, containerId: string): Promise<NetworkSetup> {
    const names = c.spec.networks ?? [];
    const ports = portsOf(c);
    if (names.length === 0) {
      const published = ports.findIndex((p) => p.hostPort !== undefined);
      if (published >= 0) throw new Error(`spec.ports[${published}].hostPort: publishing a port needs the container on a network (spec.networks is empty)`);
      return { networks: [] };
    }
    const request = await this.requestOf(c, containerId);
    const setup = await this.options.networking.setUpContainer(request);
    const networks = request.networks.map(({ network, address }) => ({ name: network.name, ip: address }));
    try {
      await this.publishPorts(containerId, ports, networks[0].ip);
    } catch (err) {
      await this.detach(c, containerId);
      throw err;
    }
    const bind = (source: string | undefined, destination: string) =>
      source ? [{ destination, source, type: 'bind', options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] }] : [];
    return {
      netnsPath: setup.netnsPath,
      ip: networks[0]?.ip,
      networks,
      mounts: [...bind(setup.hostsPath, '/etc/hosts'), ...bind(setup.resolvConfPath, '/etc/resolv.conf')],
    };
  }

  async detach(c: ContainerObject, containerId: string): Promise<void> {
    for (const { hostPort, hostIP } of this.published.get(containerId) ?? []) await this.options.networking.unpublishPort(hostPort, hostIP);
    this.published.delete(containerId);
    if ((c.spec.networks ?? []).length === 0) return;
    await this.options.networking.tearDownContainer(await this.requestOf(c, containerId));
    await fs.promises.rm(this.etcDirOf(containerId), { recursive: true, force: true });
  }

  private async requestOf(c: ContainerObject, containerId: string): Promise<ContainerNetworkRequest> {
    const networks = [];
    for (const [index, name] of (c.spec.networks ?? []).entries()) {
      networks.push(
        await this.options.resolve(c, name).catch((err: Error) => {
          throw new Error(`spec.networks[${index}]: network ${c.metadata.namespace}/${name}: ${err.message}`, { cause: err });
        }),
      );
    }
    return { containerId, name: c.metadata.name, namespace: c.metadata.namespace, networks, etcDir: this.etcDirOf(containerId) };
  }

  /** Publishes each `hostPort` (TCP, on `hostIP` or 127.0.0.1) to the container's first address. */
  private async publishPorts(containerId: string, ports: readonly ContainerPortSpec[], address: string): Promise<void> {
    const done: { hostPort: number; hostIP: string }[] = [];
    this.published.set(containerId, done);
    for (const [index, port] of ports.entries()) {
      if (port.hostPort === undefined) continue;
      const hostIP = port.hostIP ?? '127.0.0.1';
      await this.options.networking.publishPort(port.hostPort, () => ({ address, port: port.containerPort }), hostIP).catch((err: Error) => {
        throw new Error(`spec.ports[${index}].hostPort: ${err.message}`, { cause: err });
      });
      done.push({ hostPort: port.hostPort, hostIP });
    }
  }

  private etcDirOf(containerId: string): string {
    return path.join(this.options.etcRoot, containerId);
  }
}

/** The container's ports; only TCP can be published (the forwarder is a TCP proxy). */
function portsOf(c: ContainerObject): readonly ContainerPortSpec[] {
  const ports = (c.spec as { readonly ports?: readonly ContainerPortSpec[] }).ports ?? [];
  ports.forEach((port, index) => {
    if (port.hostPort !== undefined && (port.protocol ?? 'TCP') !== 'TCP') {
      throw new Error(`spec.ports[${index}].protocol: only TCP ports can be published on the host (got ${port.protocol})`);
    }
  });
  return ports;
}
