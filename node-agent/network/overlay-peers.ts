/**
 * The underlay side of overlay Networks on one node: publishes this node's VTEP (VXLAN tunnel endpoint) address
 * on its Node object and follows the other Nodes' ones, which are every overlay Network's flood list here.
 * Through the API rather than per Network: a node added or removed changes the peers of all overlays at once.
 */
import { ApiClient, RESOURCES, type BerthNode } from '../../client';
import { Informer, listWatcherFor } from '../../controllers/runtime';
import { parseIpv4 } from './cidr';
import type { OverlayConfig } from './types';

/** Node annotation holding the node's VTEP address (an annotation, so the agent's status heartbeat leaves it alone). */
export const VTEP_ANNOTATION = 'berth.dev/vtep-address';

export interface OverlayPeersOptions {
  readonly client: ApiClient;
  readonly nodeName: string;
  /** This node's underlay address: VXLAN packets leave from it and the other nodes send theirs to it. */
  readonly localAddress: string;
  /** Underlay device for the tunnels; optional when the route to the peers is unambiguous. */
  readonly underlayDevice?: string;
}

export class OverlayPeers {
  private readonly nodes: Informer<BerthNode>;
  private readonly listeners = new Set<() => void>();
  private published = '';

  constructor(private readonly opts: OverlayPeersOptions) {
    parseIpv4(opts.localAddress, 'VTEP address');
    this.nodes = new Informer(listWatcherFor<BerthNode>(opts.client, RESOURCES.nodes));
    const changed = () => {
      const now = this.remoteAddresses().join(',');
      if (now === this.published) return;
      this.published = now;
      for (const listener of this.listeners) listener();
    };
    this.nodes.addHandlers({ onAdd: changed, onUpdate: changed, onDelete: changed });
  }

  /** Publishes this node's VTEP address (the Node must exist) and starts following the others'. */
  async start(): Promise<void> {
    await this.opts.client.patch(RESOURCES.nodes, this.opts.nodeName, { metadata: { annotations: { [VTEP_ANNOTATION]: this.opts.localAddress } } }).catch((err: Error) => {
      throw new Error(`node ${this.opts.nodeName}: cannot publish VTEP address ${this.opts.localAddress} (annotation ${VTEP_ANNOTATION}): ${err.message}`, { cause: err });
    });
    this.nodes.start();
    await this.nodes.waitForSync();
    this.published = this.remoteAddresses().join(',');
  }

  stop(): void {
    this.nodes.stop();
  }

  /** Called whenever the set of remote VTEP addresses changes (a node joined, left or moved). */
  onChange(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** The other nodes' VTEP addresses, sorted, without duplicates or malformed ones. */
  remoteAddresses(): string[] {
    const addresses = new Set<string>();
    for (const node of this.nodes.list()) {
      const address = node.metadata.annotations?.[VTEP_ANNOTATION];
      if (node.metadata.name === this.opts.nodeName || !address || address === this.opts.localAddress || !isIpv4(address)) continue;
      addresses.add(address);
    }
    return [...addresses].sort();
  }

  /** The VXLAN parameters of an overlay Network with identifier `vni` on this node. */
  overlayOf(vni: number): OverlayConfig {
    return { vni, localAddress: this.opts.localAddress, remoteAddresses: this.remoteAddresses(), underlayDevice: this.opts.underlayDevice };
  }
}

function isIpv4(address: string): boolean {
  try {
    parseIpv4(address, 'VTEP address');
    return true;
  } catch {
    return false;
  }
}
