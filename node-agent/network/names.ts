/**
 * Names of the host objects Berth creates. Everything starts with `berth` so cleanup checks and operators can
 * tell them apart; Linux interface names are at most 15 characters (IFNAMSIZ - 1), hence hashes of the keys.
 */
import { createHash } from 'node:crypto';

export const BERTH_PREFIX = 'berth';
export const BRIDGE_PREFIX = 'berth-br-';
const VXLAN_PREFIX = 'berth-vx-';
const HOST_VETH_PREFIX = 'berthv';

function shortHash(text: string, hexChars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, hexChars);
}

/** `berth-br-<6 hex>`: the Linux bridge of a Network on this node. */
export function bridgeName(networkKey: string): string {
  return BRIDGE_PREFIX + shortHash(networkKey, 6);
}

/**
 * A fixed MAC for a Network's bridge: locally administered, unicast, derived from the key. Without one a bridge
 * takes the lowest MAC of its ports and changes it as containers come and go, and every container's ARP entry
 * for the gateway goes stale until it is probed again (seconds of lost DNS queries and traffic).
 */
export function bridgeMacAddress(networkKey: string): string {
  const bytes = shortHash(`mac\0${networkKey}`, 8).match(/../g)!;
  return ['02', 'b7', ...bytes].join(':');
}

/**
 * The MAC of a container interface, derived from its address (Docker's 02:42:<ip> scheme). A freed address is
 * soon reused by another container; with a fresh random MAC, the node's (and other containers') neighbour entries
 * for that address would stay on the old MAC for up to a minute and traffic to the new container would be lost.
 */
export function containerMacAddress(ipv4: string): string {
  return ['0a', 'b8', ...ipv4.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

/** `berth-vx-<6 hex>`: the VXLAN device of an overlay Network on this node. */
export function vxlanName(networkKey: string): string {
  return VXLAN_PREFIX + shortHash(networkKey, 6);
}

/** `berth_gw_<6 hex>`: the nftables bridge table keeping an overlay Network's gateway ARP on this node. */
export function gatewayFilterTableName(networkKey: string): string {
  return `berth_gw_${shortHash(networkKey, 6)}`;
}

/** `berthv<9 hex>`: the host end of a container's veth pair on one Network. */
export function hostVethName(networkKey: string, containerId: string): string {
  return HOST_VETH_PREFIX + shortHash(`${networkKey}\0${containerId}`, 9);
}

/** `berth-<id>` for ids that are safe file names, else `berth-<hash>`: the named network namespace of a container. */
export function containerNetnsName(containerId: string): string {
  return /^[A-Za-z0-9_.-]{1,200}$/.test(containerId) ? `${BERTH_PREFIX}-${containerId}` : `${BERTH_PREFIX}-${shortHash(containerId, 16)}`;
}
