export { AgentServer } from './server';
export type { AgentServerOptions } from './server';
export { agentMetrics } from './metrics';
export type { ContainerSample } from './metrics';
