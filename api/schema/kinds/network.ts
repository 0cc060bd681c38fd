/** Network: an L2/L3 network containers attach to (a bridge on one node, or a VXLAN overlay across nodes). */
import { observedGenerationSchema } from './common';
import { bool, conditionsSchema, int32, map, obj, oneOfValues, str } from './dsl';
import { AGE_COLUMN, type KindDefinition } from './types';

export const NETWORK_DRIVERS = ['bridge', 'overlay', 'host', 'none'] as const;

export const network: KindDefinition = {
  kind: 'Network',
  plural: 'networks',
  shortNames: ['net'],
  categories: ['berth'],
  scope: 'Namespaced',
  description: 'Network is a network Containers attach to. Containers on one Network reach each other by name; Networks are isolated from each other.',
  properties: {
    spec: obj('NetworkSpec describes the network.', {
      driver: oneOfValues('bridge (default; one node), overlay (VXLAN across nodes), host (share the node\'s network namespace) or none (loopback only).', NETWORK_DRIVERS, { default: 'bridge' }),
      subnet: str('IPv4 subnet in CIDR notation (10.88.0.0/24). Allocated from the cluster pool when omitted.', { format: 'cidr' }),
      gateway: str('Gateway address inside the subnet. Defaults to its first address.', { format: 'ipv4' }),
      ipRange: str('Sub-range of the subnet (CIDR) addresses are allocated from. Defaults to the whole subnet.', { format: 'cidr' }),
      internal: bool('No route out of the network: containers reach only each other.'),
      vni: int32('overlay: the VXLAN network identifier to use. Picked by the network controller (unique, from 4096 up) when omitted; cannot change once assigned.', { minimum: 1, maximum: 16777215 }),
      mtu: int32('MTU of the container interfaces and the bridge. Defaults to 65535 for bridge (the largest a veth takes; loopback-like throughput between containers) and 1450 for overlay (a 1500-byte underlay minus VXLAN headers).', { minimum: 576, maximum: 65535 }),
    }),
    status: obj('NetworkStatus is the state the network controller keeps (IPAM).', {
      subnet: str('The subnet in use.'),
      gateway: str('The gateway in use.'),
      vni: int32('overlay: the VXLAN network identifier.', { minimum: 1, maximum: 16777215 }),
      allocations: map('Addresses handed out: owner (namespace/container) → IPv4 address.'),
      conditions: conditionsSchema('Latest observations: Ready, ...'),
      observedGeneration: observedGenerationSchema,
    }),
  },
  statusSubresource: true,
  printerColumns: [
    { name: 'Driver', type: 'string', jsonPath: '.spec.driver' },
    { name: 'Subnet', type: 'string', jsonPath: '.status.subnet' },
    { name: 'Gateway', type: 'string', jsonPath: '.status.gateway' },
    { name: 'Internal', type: 'boolean', jsonPath: '.spec.internal', priority: 1 },
    AGE_COLUMN,
  ],
};
