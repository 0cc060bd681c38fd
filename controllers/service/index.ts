export { plan } from './plan';
export { revisionOf, canonicalJson, containerName, parseContainerName, resolveIntOrPercent } from './revision';
export type * from './types';
export { ServiceController, SERVICE_LABEL, REVISION_LABEL, PROMOTE_ANNOTATION, ABORT_ANNOTATION } from './controller';
