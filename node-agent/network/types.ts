/** The node agent's view of a Network and of one container's attachment to it. */

export type NetworkDriverName = 'bridge' | 'host' | 'none' | 'overlay';

/** VXLAN parameters of an `overlay` Network on this node. */
export interface OverlayConfig {
  /** VXLAN network identifier, the same on every node of the Network. */
  readonly vni: number;
  /** This node's underlay address (the VXLAN tunnel source). */
  readonly localAddress: string;
  /** The other nodes' underlay addresses; each gets a flooding entry for broadcast and unknown unicast. */
  readonly remoteAddresses: readonly string[];
  /** Underlay device the tunnel uses; optional when the route to the remotes is unambiguous. */
  readonly underlayDevice?: string;
  /** UDP port; 4789 (IANA) unless set. */
  readonly dstPort?: number;
}

export interface NetworkConfig {
  /** Stable, cluster-unique identity of the Network (its uid or `namespace/name`); device names are derived from it. */
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  readonly driver: NetworkDriverName;
  /** Validated by `validateAddressing` (ipam.ts) before it reaches a driver. */
  readonly subnet: string;
  readonly gateway: string;
  /** No default route in containers: nothing leaves the node (or the overlay). */
  readonly internal?: boolean;
  /** MTU of the bridge, the veths and (overlay) the VXLAN device; each driver has its own default. */
  readonly mtu?: number;
  readonly overlay?: OverlayConfig;
}

export interface AttachOptions {
  /** Name of the interface inside the container: eth0 for its first network, eth1 for the second, ... */
  readonly interfaceName?: string;
  /** Install a default route via the gateway; defaults to `!internal`. Only one network of a container should. */
  readonly defaultRoute?: boolean;
}

export interface Attachment {
  readonly networkKey: string;
  readonly containerId: string;
  /** Interface inside the container's network namespace (`eth0`), or undefined for host/none. */
  readonly interfaceName?: string;
  /** Host-side device (the veth end on the bridge), if any. */
  readonly hostInterface?: string;
  readonly address?: string;
  readonly prefixLength?: number;
  readonly gateway?: string;
}

/**
 * Connects containers' network namespaces to a Network on this node. Every method is idempotent:
 * calling it again after success (or after a partial failure) converges to the same state.
 */
export interface NetworkDriver {
  readonly name: NetworkDriverName;
  /** Creates the node-level devices of the Network (bridge, VXLAN, isolation rules) if missing. */
  ensureNetwork(net: NetworkConfig): Promise<void>;
  /**
   * Connects the namespace at `netnsPath` to the Network with address `ip` (from IPAM). On failure nothing of
   * this attachment is left on the host. Calls `ensureNetwork` first if the caller has not.
   */
  attach(net: NetworkConfig, containerId: string, netnsPath: string, ip: string, options?: AttachOptions): Promise<Attachment>;
  /** Removes the container's devices on this Network; detaching a container that is not attached is a no-op. */
  detach(net: NetworkConfig, containerId: string): Promise<void>;
  /** Removes the Network's node-level devices and rules; removing a missing Network is a no-op. */
  removeNetwork(net: NetworkConfig): Promise<void>;
}
