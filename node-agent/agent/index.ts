/** The node agent: supervises the Containers bound to this node (runtime, images, network, logs, probes). */
export { NodeAgent, NODE_LEASE_NAMESPACE, AGENT_VERSION } from './agent';
export type { NodeAgentOptions } from './agent';
export { ContainerSupervisor, runtimeIdOf } from './supervisor';
export { ApiStatusReporter, AGENT_FINALIZER } from './api-reporter';
export { StoreImageProvider } from './image-provider';
export { IsolatedNetworkProvider, FileLogProvider } from './providers';
export type * from './types';
