/** Container networking on a node: drivers, IPAM, names, published ports and cleanup checks. */
export type { NetworkDriver, NetworkDriverName, NetworkConfig, OverlayConfig, Attachment, AttachOptions } from './types';
export { BridgeDriver, DEFAULT_BRIDGE_MTU, type BridgeDriverOptions } from './bridge-driver';
export { OverlayDriver, VXLAN_PORT } from './overlay-driver';
export { HostDriver, NoneDriver } from './simple-drivers';
export { createDriver } from './drivers';
export { BerthNetworkProvider, type BerthNetworkProviderOptions, type ResolvedAttachment } from './agent-provider';
export { NodeNetworking, NetworkInUseError, type NodeNetworkingOptions, type ContainerNetworkRequest, type ContainerNetworkSetup } from './node-networking';
export {
  validateAddressing,
  allocateAddress,
  releaseAddress,
  prefixLengthOf,
  EMPTY_IPAM_STATE,
  AddressPoolExhaustedError,
  type IpamState,
  type NetworkAddressing,
  type NetworkAddressingSpec,
  type ExistingSubnet,
} from './ipam';
export { NetworkSpecError } from './cidr';
export { stopIpSessions } from './ip-session';
export { createNetns, deleteNetns, createContainerNetns, deleteContainerNetns, listNetns } from './netns';
export { bridgeName, bridgeMacAddress, containerMacAddress, gatewayFilterTableName, vxlanName, hostVethName, containerNetnsName, BERTH_PREFIX } from './names';
export { listBerthResources, resourcesNamed, type BerthResources, type BerthLink } from './inventory';
export { ForwardIsolation, ISOLATION_CHAIN } from './isolation';
export { RecordTable, CLUSTER_DOMAIN, type NameRecord } from './dns-records';
export { DnsServer, DNS_PORT, type DnsServerOptions } from './dns-server';
export { renderHostsFile, renderResolvConf, writeInPlace, type HostsFileInput, type ResolvConfInput } from './etc-files';
export { TcpForwarder, PortInUseError, type PortTarget, type ForwarderOptions } from './port-forwarder';
export { OverlayPeers, VTEP_ANNOTATION, type OverlayPeersOptions } from './overlay-peers';
