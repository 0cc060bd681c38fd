/** The network controller: IPAM for Networks through the API, default Networks, the in-use finalizer. */
export { NetworkController, NETWORK_FINALIZER, type NetworkControllerOptions, type NetworkStatus } from './controller';
export { DEFAULT_NETWORK, DEFAULT_NETWORK_LABEL, networkNamesOf, allocationOwner, memberRecordsOf } from './attachments';
export { DEFAULT_SUBNET_POOL, pickSubnet, hostSubnets, enclosingNetwork, type SubnetPool } from './pool';
export { planAllocations, type AddressClaim, type AllocationPlan } from './allocations';
export { chooseVni, VNI_MAX, VNI_MIN, VNI_POOL_FIRST, REASON_INVALID_VNI, REASON_VNI_IN_USE, type VniChoice, type VniHolder } from './vni';
