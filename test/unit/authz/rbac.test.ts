import type { UserInfo } from '../../../api/auth';
import { Attributes, RbacAuthorizer, RbacKind, requestAttributes } from '../../../api/authz';

const user = (username: string, groups: string[] = []): UserInfo => ({ username, groups: [...groups, 'system:authenticated'] });
const res = (verb: string, resource: string, namespace?: string, extra: Partial<Attributes> = {}): Attributes => ({
  verb,
  isResourceRequest: true,
  apiGroup: 'berth.dev',
  resource,
  namespace,
  ...extra,
});

const objects: Record<RbacKind, unknown[]> = {
  ClusterRole: [
    { metadata: { name: 'secret-reader' }, rules: [{ apiGroups: ['berth.dev'], resources: ['secrets'], verbs: ['get', 'list'], resourceNames: ['db'] }] },
    { metadata: { name: 'node-reader' }, rules: [{ apiGroups: ['berth.dev'], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }] },
    { metadata: { name: 'scaler' }, rules: [{ apiGroups: ['*'], resources: ['*/scale'], verbs: ['update', 'patch'] }] },
    { metadata: { name: 'metrics' }, rules: [{ nonResourceURLs: ['/metrics', '/debug/*'], verbs: ['get'] }] },
    { metadata: { name: 'aggregate' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { agg: 'yes' } }] } },
    { metadata: { name: 'part', labels: { agg: 'yes' } }, rules: [{ apiGroups: ['berth.dev'], resources: ['networks'], verbs: ['get'] }] },
  ],
  ClusterRoleBinding: [
    { metadata: { name: 'ops-nodes' }, subjects: [{ kind: 'Group', name: 'ops' }], roleRef: { kind: 'ClusterRole', name: 'node-reader' } },
    { metadata: { name: 'prom' }, subjects: [{ kind: 'ServiceAccount', name: 'prom', namespace: 'monitoring' }], roleRef: { kind: 'ClusterRole', name: 'metrics' } },
    { metadata: { name: 'agg' }, subjects: [{ kind: 'User', name: 'agg-user' }], roleRef: { kind: 'ClusterRole', name: 'aggregate' } },
    { metadata: { name: 'bad-ref' }, subjects: [{ kind: 'User', name: 'dave' }], roleRef: { kind: 'Role', name: 'secret-reader' } },
  ],
  Role: [
    { metadata: { name: 'deployer', namespace: 'a' }, rules: [{ apiGroups: ['berth.dev'], resources: ['containers', 'services', 'services/status'], verbs: ['*'] }] },
    { metadata: { name: 'deployer', namespace: 'b' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
  ],
  RoleBinding: [
    { metadata: { name: 'alice-deployer', namespace: 'a' }, subjects: [{ kind: 'User', name: 'alice' }], roleRef: { kind: 'Role', name: 'deployer' } },
    { metadata: { name: 'bob-secret', namespace: 'a' }, subjects: [{ kind: 'User', name: 'bob' }], roleRef: { kind: 'ClusterRole', name: 'secret-reader' } },
    { metadata: { name: 'ci', namespace: 'a' }, subjects: [{ kind: 'ServiceAccount', name: 'ci' }], roleRef: { kind: 'ClusterRole', name: 'view' } },
    { metadata: { name: 'carol-scale', namespace: 'a' }, subjects: [{ kind: 'User', name: 'carol' }], roleRef: { kind: 'ClusterRole', name: 'scaler' } },
  ],
};
const lister = (kind: RbacKind, namespace?: string) =>
  (objects[kind] as { metadata: { namespace?: string } }[]).filter((o) => namespace === undefined || o.metadata.namespace === namespace);

describe('RbacAuthorizer', () => {
  const rbac = new RbacAuthorizer(lister);

  it.each([
    ['system:masters may do anything', user('root', ['system:masters']), res('delete', 'nodes'), true],
    ['a Role in a binds alice in a', user('alice'), res('create', 'containers', 'a'), true],
    ['... and its listed subresource', user('alice'), res('update', 'services', 'a', { subresource: 'status' }), true],
    ['... not a subresource it does not list', user('alice'), res('update', 'containers', 'a', { subresource: 'status' }), false],
    ['... not in namespace b (tenant A reading B)', user('alice'), res('get', 'containers', 'b'), false],
    ['... not across all namespaces', user('alice'), res('list', 'containers'), false],
    ['... not another API group', user('alice'), res('create', 'containers', 'a', { apiGroup: 'other.io' }), false],
    ['a RoleBinding to a ClusterRole grants only in its namespace', user('bob'), res('get', 'secrets', 'a', { name: 'db' }), true],
    ['... within resourceNames only', user('bob'), res('get', 'secrets', 'a', { name: 'other' }), false],
    ['... and not an unnamed list', user('bob'), res('list', 'secrets', 'a'), false],
    ['... and not elsewhere', user('bob'), res('get', 'secrets', 'b', { name: 'db' }), false],
    ['a ClusterRoleBinding to a group grants cluster-wide', user('eve', ['ops']), res('watch', 'nodes'), true],
    ['... only the verbs listed', user('eve', ['ops']), res('delete', 'nodes'), false],
    ['*/scale matches any resource\'s scale', user('carol'), res('patch', 'services', 'a', { subresource: 'scale' }), true],
    ['*/scale does not match the resource', user('carol'), res('patch', 'services', 'a'), false],
    ['a ServiceAccount subject without namespace means the binding\'s', user('system:serviceaccount:a:ci'), res('list', 'containers', 'a'), true],
    ['... the same name in another namespace is someone else', user('system:serviceaccount:b:ci'), res('list', 'containers', 'a'), false],
    ['the built-in view role excludes secrets', user('system:serviceaccount:a:ci'), res('get', 'secrets', 'a', { name: 'db' }), false],
    ['aggregated ClusterRoles collect their parts', user('agg-user'), res('get', 'networks', 'x', { name: 'n' }), true],
    ['a ClusterRoleBinding to a Role grants nothing', user('dave'), res('get', 'secrets', 'a', { name: 'db' }), false],
    ['nonResourceURLs: exact', user('system:serviceaccount:monitoring:prom'), requestAttributes({ method: 'GET', path: '/metrics' }), true],
    ['nonResourceURLs: prefix *', user('system:serviceaccount:monitoring:prom'), requestAttributes({ method: 'GET', path: '/debug/pprof' }), true],
    ['nonResourceURLs: verb must match', user('system:serviceaccount:monitoring:prom'), requestAttributes({ method: 'POST', path: '/metrics' }), false],
    ['every authenticated user may use discovery', user('nobody'), requestAttributes({ method: 'GET', path: '/apis/berth.dev/v1' }), true],
    ['... and ask what it may do', user('nobody'), res('create', 'selfsubjectaccessreviews', undefined, { apiGroup: 'authorization.k8s.io' }), true],
    ['... but not /metrics', user('nobody'), requestAttributes({ method: 'GET', path: '/metrics' }), false],
    ['anonymous may read /healthz', { username: 'system:anonymous', groups: ['system:unauthenticated'] }, requestAttributes({ method: 'GET', path: '/healthz' }), true],
    ['anonymous may not use discovery', { username: 'system:anonymous', groups: ['system:unauthenticated'] }, requestAttributes({ method: 'GET', path: '/api' }), false],
  ])('%s', async (_what, who, attrs, allowed) => {
    const decision = await rbac.authorize(who, attrs);
    expect(decision.allowed).toBe(allowed);
    if (allowed) expect(decision.reason).not.toBe('');
    else expect(decision.noOpinion).toBe(true);
  });

  it('sees objects the lister returns at the time of the request (a binding deleted → access gone)', async () => {
    let bindings: unknown[] = [{ metadata: { name: 'x', namespace: 'n' }, subjects: [{ kind: 'User', name: 'zed' }], roleRef: { kind: 'ClusterRole', name: 'edit' } }];
    const live = new RbacAuthorizer((kind) => (kind === 'RoleBinding' ? bindings : []));
    expect((await live.authorize(user('zed'), res('delete', 'containers', 'n', { name: 'c' }))).allowed).toBe(true);
    bindings = [];
    expect((await live.authorize(user('zed'), res('delete', 'containers', 'n', { name: 'c' }))).allowed).toBe(false);
  });

  it('lists the rules that apply to a user in a namespace', async () => {
    const rules = await rbac.rulesFor(user('alice'), 'a');
    expect(rules).toContainEqual({ apiGroups: ['berth.dev'], resources: ['containers', 'services', 'services/status'], verbs: ['*'] });
    expect(await rbac.rulesFor(user('alice'), 'b')).not.toContainEqual(expect.objectContaining({ resources: ['*'] }));
  });
});
