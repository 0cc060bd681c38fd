/**
 * Discovery documents (k8s.io/apimachinery/pkg/apis/meta/v1 APIVersions, APIGroupList, APIGroup, APIResourceList,
 * and apidiscovery.k8s.io/v2 APIGroupDiscoveryList) built from the registry. kubectl and client-node read these to
 * map kinds and short names to URLs.
 */
import type { SchemaRegistry } from './registry';
import type { ResourceInfo } from './types';

/** The verbs the REST layer serves on every main resource. */
export const RESOURCE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;
/** The verbs of `/status` and `/scale`. */
export const SUBRESOURCE_VERBS = ['get', 'patch', 'update'] as const;

const SCALE_KIND = { group: 'autoscaling', version: 'v1', kind: 'Scale' } as const;

interface GroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

const gv = (group: string, version: string): GroupVersionForDiscovery => ({
  groupVersion: group ? `${group}/${version}` : version,
  version,
});

/** GET /api */
export function apiVersions(serverAddress?: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: serverAddress ? [{ clientCIDR: '0.0.0.0/0', serverAddress }] : [],
  };
}

/** GET /api/v1 */
export function coreResourceList(registry: SchemaRegistry): Record<string, unknown> {
  return apiResourceList(registry, '', 'v1')!;
}

/** GET /apis — every named group (the core group is under /api). */
export function apiGroupList(registry: SchemaRegistry): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry
      .groups()
      .filter((g) => g.name !== '')
      .map((g) => groupBody(g.name, g.versions)),
  };
}

/** GET /apis/<group>, or undefined (404) if nothing is served in that group. */
export function apiGroup(registry: SchemaRegistry, group: string): Record<string, unknown> | undefined {
  const g = registry.groups().find((x) => x.name === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupBody(g.name, g.versions) } : undefined;
}

function groupBody(name: string, versions: string[]): Record<string, unknown> {
  return { name, versions: versions.map((v) => gv(name, v)), preferredVersion: gv(name, versions[0]) };
}

/** GET /apis/<group>/<version> (or /api/v1 with group ''), or undefined (404) if that group/version is not served. */
export function apiResourceList(registry: SchemaRegistry, group: string, version: string): Record<string, unknown> | undefined {
  const infos = registry.resources().filter((r) => r.group === group && r.version === version);
  if (infos.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: gv(group, version).groupVersion,
    resources: infos.flatMap(apiResources),
  };
}

function apiResources(info: ResourceInfo): Array<Record<string, unknown>> {
  const main: Record<string, unknown> = {
    name: info.plural,
    singularName: info.singular,
    namespaced: info.namespaced,
    kind: info.kind,
    verbs: [...RESOURCE_VERBS],
  };
  if (info.shortNames.length > 0) main.shortNames = [...info.shortNames];
  if (info.categories.length > 0) main.categories = [...info.categories];
  const out = [main];
  if (info.subresources.status) {
    out.push({ name: `${info.plural}/status`, singularName: '', namespaced: info.namespaced, kind: info.kind, verbs: [...SUBRESOURCE_VERBS] });
  }
  if (info.subresources.scale) {
    out.push({ name: `${info.plural}/scale`, singularName: '', namespaced: info.namespaced, ...SCALE_KIND, verbs: [...SUBRESOURCE_VERBS] });
  }
  return out;
}

/** The media type clients send in Accept to get aggregated discovery (kubectl ≥ 1.30 tries it first). */
export const AGGREGATED_DISCOVERY_TYPE = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/**
 * Aggregated discovery (apidiscovery.k8s.io/v2): one document describing every group, version and resource,
 * for `/api` (`legacy` = true: the core group) or `/apis` (every named group).
 */
export function aggregatedDiscovery(registry: SchemaRegistry, legacy: boolean): Record<string, unknown> {
  const groups = registry.groups().filter((g) => (g.name === '') === legacy);
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((g) => ({
      metadata: g.name ? { name: g.name } : {},
      versions: g.versions.map((version) => ({
        version,
        resources: registry
          .resources()
          .filter((r) => r.group === g.name && r.version === version)
          .map(aggregatedResource),
        freshness: 'Current',
      })),
    })),
  };
}

function aggregatedResource(info: ResourceInfo): Record<string, unknown> {
  const responseKind = { group: info.group, version: info.version, kind: info.kind };
  const subresources: Array<Record<string, unknown>> = [];
  if (info.subresources.status) subresources.push({ subresource: 'status', responseKind, verbs: [...SUBRESOURCE_VERBS] });
  if (info.subresources.scale) subresources.push({ subresource: 'scale', responseKind: { ...SCALE_KIND }, verbs: [...SUBRESOURCE_VERBS] });
  return {
    resource: info.plural,
    responseKind,
    scope: info.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: info.singular,
    verbs: [...RESOURCE_VERBS],
    ...(info.shortNames.length > 0 ? { shortNames: [...info.shortNames] } : {}),
    ...(info.categories.length > 0 ? { categories: [...info.categories] } : {}),
    ...(subresources.length > 0 ? { subresources } : {}),
  };
}
