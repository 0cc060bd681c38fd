/** The `host` and `none` drivers, which need no devices of their own. */
import { runIpBatchChecked } from './ip-batch';
import type { Attachment, NetworkConfig, NetworkDriver } from './types';

/**
 * `host`: the container shares the node's namespace, so there is nothing to attach. The agent must not give
 * such a container a network namespace of its own (omit the `network` entry of `linux.namespaces`).
 */
export class HostDriver implements NetworkDriver {
  readonly name = 'host';
  async ensureNetwork(): Promise<void> {}
  async attach(net: NetworkConfig, containerId: string): Promise<Attachment> {
    return { networkKey: net.key, containerId };
  }
  async detach(): Promise<void> {}
  async removeNetwork(): Promise<void> {}
}

/** `none`: the container gets its own namespace with only loopback, up. */
export class NoneDriver implements NetworkDriver {
  readonly name = 'none';
  async ensureNetwork(): Promise<void> {}
  async attach(net: NetworkConfig, containerId: string, netnsPath: string): Promise<Attachment> {
    await runIpBatchChecked(['link set lo up'], `bring up loopback of container ${containerId}`, { netns: netnsPath });
    return { networkKey: net.key, containerId, interfaceName: 'lo', address: '127.0.0.1', prefixLength: 8 };
  }
  async detach(): Promise<void> {}
  async removeNetwork(): Promise<void> {}
}
