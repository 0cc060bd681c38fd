export { plan } from './plan';
export { revisionOf, canonicalJson, containerName, parseContainerName, resolveIntOrPercent } from './revision';
export type * from './types';
