/**
 * The agent's `NetworkProvider` over `NodeNetworking`: turns a Container's `spec.networks` into attachments,
 * returns the namespace for the runtime and bind mounts for /etc/hosts and /etc/resolv.conf.
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

export interface BerthNetworkProviderOptions {
  readonly networking: NodeNetworking;
  /** Looks up Network `networkName` in the container's namespace and the container's address on it. */
  readonly resolve: (container: ContainerObject, networkName: string) => Promise<ResolvedAttachment>;
  /** Directory for per-container hosts and resolv.conf files (`<dir>/<containerId>/`). */
  readonly etcRoot: string;
}

export class BerthNetworkProvider implements NetworkProvider {
  constructor(private readonly options: BerthNetworkProviderOptions) {}

  /** Containers without `spec.networks` get `{ networks: [] }`: the runtime gives them a private loopback-only namespace. */
  async attach(c: ContainerObject, containerId: string): Promise<NetworkSetup> {
    const names = c.spec.networks ?? [];
    if (names.length === 0) return { networks: [] };
    const request = await this.requestOf(c, containerId);
    const setup = await this.options.networking.setUpContainer(request);
    const networks = request.networks.map(({ network, address }) => ({ name: network.name, ip: address }));
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
    if ((c.spec.networks ?? []).length === 0) return;
    await this.options.networking.tearDownContainer(await this.requestOf(c, containerId));
    fs.rmSync(this.etcDirOf(containerId), { recursive: true, force: true });
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

  private etcDirOf(containerId: string): string {
    return path.join(this.options.etcRoot, containerId);
  }
}
