export { WeightedBalancer } from './balancer';
export type { Endpoint } from './balancer';
export { ProxyStats } from './stats';
export type { GroupStats } from './stats';
export { ServiceProxy } from './proxy';
export type { ServiceProxyOptions } from './listener';
