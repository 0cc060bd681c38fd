import { newWidgetCrd } from './crd-fixtures';
import { SchemaRegistry, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, coreResourceList } from '../../../api/schema';

const registry = SchemaRegistry.withBuiltins();
type Resource = { name: string; singularName: string; namespaced: boolean; kind: string; verbs: string[]; shortNames?: string[]; categories?: string[]; group?: string; version?: string };
const resources = (group: string, version: string) => (apiResourceList(registry, group, version)!.resources as Resource[]);

describe('legacy discovery', () => {
  it('GET /api lists v1', () => {
    expect(apiVersions()).toEqual({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] });
    expect(apiVersions('127.0.0.1:6443').serverAddressByClientCIDRs).toEqual([{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }]);
  });

  it('GET /api/v1 lists namespaces with their status subresource', () => {
    const doc = coreResourceList(registry);
    expect(doc).toMatchObject({ kind: 'APIResourceList', groupVersion: 'v1' });
    expect((doc.resources as Resource[]).map((r) => r.name)).toEqual(['namespaces', 'namespaces/status']);
    expect((doc.resources as Resource[])[0]).toMatchObject({ singularName: 'namespace', namespaced: false, kind: 'Namespace', shortNames: ['ns'] });
  });

  it('GET /apis lists berth.dev and apiextensions.k8s.io with their preferred versions', () => {
    const doc = apiGroupList(registry);
    expect(doc.kind).toBe('APIGroupList');
    const groups = doc.groups as Array<{ name: string; preferredVersion: { groupVersion: string } }>;
    expect(groups.map((g) => g.name)).toEqual(expect.arrayContaining(['berth.dev', 'apiextensions.k8s.io']));
    expect(groups.find((g) => g.name === 'berth.dev')).toEqual({
      name: 'berth.dev',
      versions: [{ groupVersion: 'berth.dev/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'berth.dev/v1', version: 'v1' },
    });
    expect(groups.some((g) => g.name === '')).toBe(false);
  });

  it('GET /apis/<group> answers known groups only', () => {
    expect(apiGroup(registry, 'berth.dev')).toMatchObject({ kind: 'APIGroup', name: 'berth.dev' });
    expect(apiGroup(registry, 'nope.dev')).toBeUndefined();
    expect(apiGroup(registry, '')).toBeUndefined();
  });

  it.each([
    ['containers', { singularName: 'container', namespaced: true, kind: 'Container', shortNames: ['ctr'], categories: ['all', 'berth'] }],
    ['containers/status', { singularName: '', namespaced: true, kind: 'Container', verbs: ['get', 'patch', 'update'] }],
    ['services', { kind: 'Service', shortNames: ['svc'] }],
    ['services/status', { kind: 'Service' }],
    ['services/scale', { group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] }],
    ['nodes', { namespaced: false, kind: 'Node' }],
    ['secrets', { kind: 'Secret' }],
  ])('GET /apis/berth.dev/v1 lists %s', (name, expected) => {
    const entry = resources('berth.dev', 'v1').find((r) => r.name === name);
    expect(entry).toMatchObject(expected);
  });

  it('lists every verb on main resources and no /status for kinds without one', () => {
    const list = resources('berth.dev', 'v1');
    expect(list.find((r) => r.name === 'containers')!.verbs).toEqual(['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
    expect(list.map((r) => r.name)).not.toContain('secrets/status');
    expect(list.map((r) => r.name)).not.toContain('containers/scale');
  });

  it('answers undefined for unknown group versions', () => {
    expect(apiResourceList(registry, 'berth.dev', 'v2')).toBeUndefined();
  });
});

describe('aggregated discovery (apidiscovery.k8s.io/v2)', () => {
  it('describes the named groups for /apis', () => {
    const doc = aggregatedDiscovery(registry, false);
    expect(doc).toMatchObject({ kind: 'APIGroupDiscoveryList', apiVersion: 'apidiscovery.k8s.io/v2' });
    const berth = (doc.items as Array<{ metadata: { name: string }; versions: Array<{ version: string; resources: Array<Record<string, unknown>>; freshness: string }> }>).find((i) => i.metadata.name === 'berth.dev')!;
    expect(berth.versions[0]).toMatchObject({ version: 'v1', freshness: 'Current' });
    const svc = berth.versions[0].resources.find((r) => r.resource === 'services')!;
    expect(svc).toMatchObject({
      responseKind: { group: 'berth.dev', version: 'v1', kind: 'Service' },
      scope: 'Namespaced',
      singularResource: 'service',
      shortNames: ['svc'],
      subresources: [
        { subresource: 'status', responseKind: { group: 'berth.dev', version: 'v1', kind: 'Service' }, verbs: ['get', 'patch', 'update'] },
        { subresource: 'scale', responseKind: { group: 'autoscaling', version: 'v1', kind: 'Scale' }, verbs: ['get', 'patch', 'update'] },
      ],
    });
  });

  it('describes only the core group for /api', () => {
    const doc = aggregatedDiscovery(registry, true);
    const items = doc.items as Array<{ metadata: Record<string, unknown>; versions: Array<{ resources: Array<{ resource: string; scope: string }> }> }>;
    expect(items).toHaveLength(1);
    expect(items[0].metadata).toEqual({});
    expect(items[0].versions[0].resources.map((r) => [r.resource, r.scope])).toEqual([['namespaces', 'Cluster']]);
  });
});

describe('a CRD with several versions', () => {
  const multi = SchemaRegistry.withBuiltins();
  const crd = newWidgetCrd();
  const v1 = crd.spec.versions[0];
  crd.spec.versions = [{ ...structuredClone(v1), name: 'v1beta1', storage: false }, { ...structuredClone(v1), name: 'v1', storage: true }];
  multi.addCrd(crd);

  it('lists both versions, the GA one preferred', () => {
    expect(apiGroup(multi, 'example.com')).toMatchObject({
      versions: [{ groupVersion: 'example.com/v1', version: 'v1' }, { groupVersion: 'example.com/v1beta1', version: 'v1beta1' }],
      preferredVersion: { groupVersion: 'example.com/v1', version: 'v1' },
    });
  });

  it.each(['v1', 'v1beta1'])('serves a resource list for %s', (version) => {
    expect((apiResourceList(multi, 'example.com', version)!.resources as Resource[]).map((r) => r.name)).toEqual(['widgets', 'widgets/status', 'widgets/scale']);
  });
});
