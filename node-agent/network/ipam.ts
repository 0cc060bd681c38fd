/**
 * IP address management for one Network: validation of its addressing and allocation of container addresses.
 * Pure: the caller (the network controller) keeps `IpamState` in the Network's status and passes it back in;
 * every function returns a new state and never mutates its input.
 */
import { contains, broadcastOf, formatCidr, formatIpv4, NetworkSpecError, overlaps, parseCidr, parseIpv4, sizeOf } from './cidr';

export interface NetworkAddressingSpec {
  readonly subnet: string;
  /** Defaults to the first address of the subnet. */
  readonly gateway?: string;
  /** Sub-range (CIDR) of the subnet that addresses are allocated from; the whole subnet when unset. */
  readonly ipRange?: string;
}

/** Another Network already holding a subnet (for overlap checks). */
export interface ExistingSubnet {
  readonly name: string;
  readonly subnet: string;
}

/** Normalised addressing of a Network. */
export interface NetworkAddressing {
  readonly subnet: string;
  readonly gateway: string;
  readonly ipRange?: string;
}

/** Allocations of one Network: owner (e.g. `namespace/container` or a uid) → address. */
export interface IpamState {
  readonly allocations: Readonly<Record<string, string>>;
}

export const EMPTY_IPAM_STATE: IpamState = { allocations: {} };

export class AddressPoolExhaustedError extends Error {
  constructor(
    readonly subnet: string,
    readonly inUse: number,
  ) {
    super(`address pool ${subnet} is exhausted: all ${inUse} container addresses are allocated`);
    this.name = 'AddressPoolExhaustedError';
  }
}

/**
 * Validates a Network's subnet and gateway against the Networks that already exist.
 * Throws `NetworkSpecError` naming `spec.subnet` or `spec.gateway`.
 */
export function validateAddressing(spec: NetworkAddressingSpec, others: readonly ExistingSubnet[]): NetworkAddressing {
  const subnet = parseCidr(spec.subnet, 'spec.subnet');
  // One address for the gateway and at least one for a container, besides network and broadcast.
  if (sizeOf(subnet) < 4) {
    throw new NetworkSpecError('spec.subnet', `${spec.subnet} is too small: a subnet needs a prefix of /30 or shorter`);
  }
  for (const other of others) {
    if (overlaps(subnet, parseCidr(other.subnet, `subnet of network ${other.name}`))) {
      throw new NetworkSpecError('spec.subnet', `${spec.subnet} overlaps ${other.subnet} of network ${other.name}`);
    }
  }
  const gateway = spec.gateway === undefined ? subnet.network + 1 : parseIpv4(spec.gateway, 'spec.gateway');
  if (!contains(subnet, gateway)) {
    throw new NetworkSpecError('spec.gateway', `${formatIpv4(gateway)} is outside subnet ${spec.subnet}`);
  }
  if (gateway === subnet.network || gateway === broadcastOf(subnet)) {
    throw new NetworkSpecError('spec.gateway', `${formatIpv4(gateway)} is the network or broadcast address of ${spec.subnet}`);
  }
  const normalised = { subnet: formatCidr(subnet), gateway: formatIpv4(gateway) };
  if (spec.ipRange === undefined) return normalised;
  const range = parseCidr(spec.ipRange, 'spec.ipRange');
  if (!contains(subnet, range.network) || !contains(subnet, broadcastOf(range))) {
    throw new NetworkSpecError('spec.ipRange', `${spec.ipRange} is not inside subnet ${spec.subnet}`);
  }
  return { ...normalised, ipRange: formatCidr(range) };
}

/**
 * Gives `owner` an address: the one it already holds (so retries are idempotent), else `requested` if free,
 * else the lowest free address (so a released address is reused first). Never the network, broadcast or
 * gateway address. Throws `AddressPoolExhaustedError` when nothing is free, `NetworkSpecError` for a bad `requested`.
 */
export function allocateAddress(
  addressing: NetworkAddressing,
  state: IpamState,
  owner: string,
  requested?: { readonly address: string; readonly field: string },
): { readonly state: IpamState; readonly address: string } {
  const held = state.allocations[owner];
  if (held !== undefined) return { state, address: held };
  const subnet = parseCidr(addressing.subnet, 'spec.subnet');
  const gateway = parseIpv4(addressing.gateway, 'spec.gateway');
  const taken = new Set(Object.values(state.allocations).map((a) => parseIpv4(a, 'allocations')));
  taken.add(gateway);
  const first = subnet.network + 1;
  const last = broadcastOf(subnet) - 1;
  const range = addressing.ipRange === undefined ? undefined : parseCidr(addressing.ipRange, 'spec.ipRange');
  let address: number | undefined;
  // A requested address may lie anywhere in the subnet (as Docker's --ip may lie outside --ip-range).
  if (requested) {
    address = parseIpv4(requested.address, requested.field);
    if (address < first || address > last) {
      throw new NetworkSpecError(requested.field, `${requested.address} is not a usable address of ${addressing.subnet}`);
    }
    if (taken.has(address)) {
      throw new NetworkSpecError(requested.field, `${requested.address} is already in use on ${addressing.subnet}`);
    }
  } else {
    const from = range ? Math.max(first, range.network) : first;
    const to = range ? Math.min(last, broadcastOf(range)) : last;
    for (let candidate = from; candidate <= to && address === undefined; candidate++) {
      if (!taken.has(candidate)) address = candidate;
    }
    if (address === undefined) throw new AddressPoolExhaustedError(addressing.ipRange ?? addressing.subnet, taken.size - 1);
  }
  const text = formatIpv4(address);
  return { state: { allocations: { ...state.allocations, [owner]: text } }, address: text };
}

/** Frees `owner`'s address; releasing an owner that holds none is a no-op (idempotent). */
export function releaseAddress(state: IpamState, owner: string): IpamState {
  if (!(owner in state.allocations)) return state;
  const { [owner]: _released, ...rest } = state.allocations;
  return { allocations: rest };
}

/** The prefix length of a subnet, for `ip addr add ADDRESS/PREFIX`. */
export function prefixLengthOf(subnet: string): number {
  return parseCidr(subnet, 'spec.subnet').prefixLength;
}
