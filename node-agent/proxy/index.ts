export { ProxyStats } from './stats';
export type { GroupStats } from './stats';
export { ServiceProxy } from './proxy';
export type { Endpoint, ServiceProxyOptions } from './proxy';
