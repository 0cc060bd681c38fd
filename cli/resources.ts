/**
 * Finds the resource a user means (`containers`, `container`, `ctr`, `Container`, `containers.berth.dev`)
 * through the server's discovery documents, as kubectl does — so CRDs added at run time work too.
 */
import type { ApiClient, ResourceRef } from '../client';

interface ApiResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  shortNames?: string[];
}

export interface DiscoveredResource extends ResourceRef {
  readonly singular: string;
  readonly shortNames: readonly string[];
}

export class ResourceResolver {
  private cache?: DiscoveredResource[];

  constructor(private readonly client: ApiClient) {}

  async all(): Promise<DiscoveredResource[]> {
    if (this.cache) return this.cache;
    const lists: Array<{ group: string; version: string; path: string }> = [{ group: '', version: 'v1', path: '/api/v1' }];
    const groups = await this.client.call<{ groups: Array<{ name: string; preferredVersion: { version: string } }> }>('GET', '/apis');
    for (const g of groups.groups) lists.push({ group: g.name, version: g.preferredVersion.version, path: `/apis/${g.name}/${g.preferredVersion.version}` });
    const found: DiscoveredResource[] = [];
    for (const l of lists) {
      const doc = await this.client.call<{ resources: ApiResource[] }>('GET', l.path);
      for (const r of doc.resources) {
        if (r.name.includes('/')) continue;
        found.push({
          group: l.group,
          version: l.version,
          plural: r.name,
          kind: r.kind,
          namespaced: r.namespaced,
          singular: r.singularName || r.kind.toLowerCase(),
          shortNames: r.shortNames ?? [],
        });
      }
    }
    this.cache = found;
    return found;
  }

  /** By the name a user types. Throws a kubectl-like error when nothing matches. */
  async byName(input: string): Promise<DiscoveredResource> {
    const [name, ...groupParts] = input.toLowerCase().split('.');
    const group = groupParts.join('.');
    const match = (await this.all()).filter(
      (r) =>
        (!group || r.group === group) &&
        (r.plural === name || r.singular === name || r.kind.toLowerCase() === name || r.shortNames.includes(name)),
    );
    const preferred = match.find((r) => r.group === 'berth.dev') ?? match[0];
    if (!preferred) throw new Error(`the server doesn't have a resource type "${input}"`);
    return preferred;
  }

  /** By apiVersion + kind, as a manifest names it. */
  async byKind(apiVersion: string, kind: string): Promise<DiscoveredResource> {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const found = (await this.all()).find((r) => r.group === group && r.kind === kind && r.version === version);
    if (!found) throw new Error(`no matches for kind "${kind}" in version "${apiVersion}"`);
    return found;
  }
}
