/** Which Networks a Container is attached to, as both the network controller and the node agent read it. */
import type { NameRecord } from '../../node-agent/network';

/** The Network a Container with no `spec.networks` joins (Docker's `bridge`); created on demand per namespace. */
export const DEFAULT_NETWORK = 'default';
/** Label on the default Networks the controller creates. */
export const DEFAULT_NETWORK_LABEL = 'berth.dev/default-network';

/** `spec.networks` (Network names) in order, or the namespace's default Network when the list is empty or missing. */
export function networkNamesOf(spec: object): string[] {
  const networks = (spec as { networks?: unknown }).networks;
  const names = Array.isArray(networks) ? networks.filter((n): n is string => typeof n === 'string' && n !== '') : [];
  return names.length > 0 ? names : [DEFAULT_NETWORK];
}

/** The owner key of a Container's address in `Network.status.allocations`. */
export const allocationOwner = (namespace: string, name: string): string => `${namespace}/${name}`;

/** The name records of a Network's allocations (`namespace/name` → address): every container on it, on any node. */
export function memberRecordsOf(allocations: Readonly<Record<string, string>>): NameRecord[] {
  return Object.entries(allocations).flatMap(([owner, address]) => {
    const slash = owner.indexOf('/');
    return slash > 0 ? [{ namespace: owner.slice(0, slash), name: owner.slice(slash + 1), addresses: [address] }] : [];
  });
}
