import type { UserInfo } from '../../../api/auth';
import {
  ContainerLike,
  NodeAuthorizer,
  NodeGraph,
  RbacAuthorizer,
  referencedObjects,
  requestAttributes,
  reviewAccess,
  UnionAuthorizer,
  AccessReviewInvalidError,
  nodeAdmissionError,
  nodeWriteError,
} from '../../../api/authz';

const containers: ContainerLike[] = [
  {
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      nodeName: 'n1',
      image: 'web-image',
      secrets: [{ name: 'tls' }],
      env: [{ valueFrom: { secretKeyRef: { name: 'db-password' } } }],
      networks: ['frontend', { name: 'backend' }],
    },
  },
  { metadata: { name: 'db', namespace: 'shop' }, spec: { nodeName: 'n2', image: 'postgres', secrets: [{ name: 'db-admin' }], network: 'backend' } },
  { metadata: { name: 'pending', namespace: 'shop' }, spec: { image: 'x', secrets: [{ name: 'unbound' }] } },
];

const graph: NodeGraph = {
  async getContainer(namespace, name) {
    return containers.find((c) => c.metadata.namespace === namespace && c.metadata.name === name);
  },
  async listContainersOnNode(node) {
    return containers.filter((c) => c.spec?.nodeName === node);
  },
};

const nodeUser = (name: string): UserInfo => ({ username: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });
const req = (method: string, path: string, query: Record<string, string> = {}) => requestAttributes({ method, path, query });
const base = '/apis/berth.dev/v1';

describe('NodeAuthorizer', () => {
  const nodes = new NodeAuthorizer(graph);

  it('finds every Secret, Image and Network a container references', () => {
    expect(referencedObjects(containers[0])).toEqual({
      secrets: new Set(['tls', 'db-password']),
      images: new Set(['web-image']),
      networks: new Set(['frontend', 'backend']),
    });
  });

  it.each([
    ['reads its own Node', 'n1', req('GET', `${base}/nodes/n1`), true],
    ['may create a Node (its name is checked at admission)', 'n1', req('POST', `${base}/nodes`), true],
    ['updates its own Node status', 'n1', req('PUT', `${base}/nodes/n1/status`), true],
    ['watches its own Node by name', 'n1', req('GET', `${base}/nodes`, { watch: '1', fieldSelector: 'metadata.name=n1' }), true],
    ['not another Node', 'n1', req('PUT', `${base}/nodes/n2/status`), false],
    ['not every Node', 'n1', req('GET', `${base}/nodes`), false],
    ['renews its own Lease', 'n1', req('PUT', `${base}/namespaces/berth-node-lease/leases/n1`), true],
    ['not another node\'s Lease', 'n1', req('PUT', `${base}/namespaces/berth-node-lease/leases/n2`), false],
    ['not a Lease of its name elsewhere (leader election)', 'n1', req('PUT', `${base}/namespaces/kube-system/leases/n1`), false],
    ['may create its Lease namespace (name checked at admission)', 'n1', req('POST', '/api/v1/namespaces'), true],
    ['not delete a namespace', 'n1', req('DELETE', '/api/v1/namespaces/berth-node-lease'), false],
    ['lists its containers with spec.nodeName', 'n1', req('GET', `${base}/containers`, { watch: 'true', fieldSelector: 'spec.nodeName=n1' }), true],
    ['not without the field selector', 'n1', req('GET', `${base}/containers`, { watch: 'true' }), false],
    ['not with another node\'s', 'n1', req('GET', `${base}/containers`, { fieldSelector: 'spec.nodeName=n2' }), false],
    ['gets a container bound to it', 'n1', req('GET', `${base}/namespaces/shop/containers/web`), true],
    ['not a container bound elsewhere', 'n1', req('GET', `${base}/namespaces/shop/containers/db`), false],
    ['not an unscheduled one', 'n1', req('GET', `${base}/namespaces/shop/containers/pending`), false],
    ['writes its container\'s status', 'n1', req('PATCH', `${base}/namespaces/shop/containers/web/status`), true],
    ['not its container\'s spec', 'n1', req('PUT', `${base}/namespaces/shop/containers/web`), false],
    ['not another node\'s container status', 'n2', req('PUT', `${base}/namespaces/shop/containers/web/status`), false],
    ['not deleting its containers', 'n1', req('DELETE', `${base}/namespaces/shop/containers/web`), false],
    ['reads a mounted secret', 'n1', req('GET', `${base}/namespaces/shop/secrets/tls`), true],
    ['reads an env secret', 'n1', req('GET', `${base}/namespaces/shop/secrets/db-password`), true],
    ['watches a referenced secret by name', 'n1', req('GET', `${base}/namespaces/shop/secrets`, { watch: '1', fieldSelector: 'metadata.name=tls' }), true],
    ['not another node\'s secret', 'n1', req('GET', `${base}/namespaces/shop/secrets/db-admin`), false],
    ['not a secret only an unscheduled container uses', 'n1', req('GET', `${base}/namespaces/shop/secrets/unbound`), false],
    ['not the same secret name in another namespace', 'n1', req('GET', `${base}/namespaces/other/secrets/tls`), false],
    ['not listing secrets', 'n1', req('GET', `${base}/namespaces/shop/secrets`), false],
    ['not writing a referenced secret', 'n1', req('PUT', `${base}/namespaces/shop/secrets/tls`), false],
    ['reads a referenced image', 'n1', req('GET', `${base}/namespaces/shop/images/web-image`), true],
    ['not an unreferenced image', 'n1', req('GET', `${base}/namespaces/shop/images/postgres`), false],
    ['reads a referenced network', 'n2', req('GET', `${base}/namespaces/shop/networks/backend`), true],
    ['not an unreferenced network', 'n2', req('GET', `${base}/namespaces/shop/networks/frontend`), false],
    ['records events', 'n1', req('POST', `${base}/namespaces/shop/events`), true],
    ['not services', 'n1', req('GET', `${base}/namespaces/shop/services`), false],
  ])('a node %s', async (_what, node, attrs, allowed) => {
    expect((await nodes.authorize(nodeUser(node), attrs)).allowed).toBe(allowed);
  });

  it('admits a node creating only its own Node and Lease', () => {
    const create = req('POST', `${base}/nodes`);
    expect(nodeAdmissionError(nodeUser('n1'), create, { metadata: { name: 'n1' } })).toBeUndefined();
    expect(nodeAdmissionError(nodeUser('n1'), create, { metadata: { name: 'n2' } })).toBe('node "n1" may not create nodes "n2"');
    const lease = req('POST', `${base}/namespaces/berth-node-lease/leases`);
    expect(nodeAdmissionError(nodeUser('n1'), lease, { metadata: { name: 'scheduler' } })).toBe('node "n1" may not create leases "scheduler"');
    expect(nodeAdmissionError({ username: 'admin', groups: ['system:masters'] }, create, { metadata: { name: 'n2' } })).toBeUndefined();
  });

  it('lets a node patch its containers outside /status only with containerFinalizers, and then only their finalizers', async () => {
    const patchWeb = req('PATCH', `${base}/namespaces/shop/containers/web`);
    expect((await nodes.authorize(nodeUser('n1'), patchWeb)).allowed).toBe(false);
    const lenient = new NodeAuthorizer(graph, { containerFinalizers: true });
    expect((await lenient.authorize(nodeUser('n1'), patchWeb)).allowed).toBe(true);
    expect((await lenient.authorize(nodeUser('n2'), patchWeb)).allowed).toBe(false);

    const web = structuredClone(containers[0]) as unknown as Record<string, any>;
    const withFinalizer = { ...web, metadata: { ...web.metadata, finalizers: ['berth.dev/agent'], resourceVersion: '9' } };
    expect(await nodeWriteError(nodeUser('n1'), patchWeb, withFinalizer, graph)).toBeUndefined();
    const moreSecrets = { ...withFinalizer, spec: { ...web.spec, secrets: [{ name: 'tls' }, { name: 'db-admin' }] } };
    expect(await nodeWriteError(nodeUser('n1'), patchWeb, moreSecrets, graph)).toBe('node "n1" may change only metadata.finalizers of container shop/web');
    const relabelled = { ...withFinalizer, metadata: { ...withFinalizer.metadata, labels: { app: 'payments' } } };
    expect(await nodeWriteError(nodeUser('n1'), patchWeb, relabelled, graph)).toContain('may change only metadata.finalizers');
    expect(await nodeWriteError(nodeUser('n2'), patchWeb, withFinalizer, graph)).toBe('node "n2" has no container shop/web bound to it');
    // Not a node, or a status write: not this check's business.
    expect(await nodeWriteError({ username: 'admin', groups: ['system:masters'] }, patchWeb, moreSecrets, graph)).toBeUndefined();
    expect(await nodeWriteError(nodeUser('n1'), req('PATCH', `${base}/namespaces/shop/containers/web/status`), moreSecrets, graph)).toBeUndefined();
  });

  it('admits a node creating only the Lease namespace', () => {
    const create = req('POST', '/api/v1/namespaces');
    expect(nodeAdmissionError(nodeUser('n1'), create, { metadata: { name: 'berth-node-lease' } })).toBeUndefined();
    expect(nodeAdmissionError(nodeUser('n1'), create, { metadata: { name: 'evil' } })).toBe('node "n1" may not create namespaces "evil"');
  });

  it('has no opinion about users that are not nodes, or that claim the name without the group', async () => {
    const d1 = await nodes.authorize({ username: 'alice', groups: [] }, req('GET', `${base}/namespaces/shop/secrets/tls`));
    const d2 = await nodes.authorize({ username: 'system:node:n1', groups: [] }, req('GET', `${base}/namespaces/shop/secrets/tls`));
    expect([d1, d2]).toEqual([expect.objectContaining({ allowed: false, noOpinion: true }), expect.objectContaining({ allowed: false, noOpinion: true })]);
  });
});

describe('UnionAuthorizer with node + RBAC, and access reviews', () => {
  const union = new UnionAuthorizer([new NodeAuthorizer(graph), new RbacAuthorizer(() => [])]);

  it('denies a node asking for another node\'s secret with a reason that names only the request', async () => {
    const d = await union.authorize(nodeUser('n1'), req('GET', `${base}/namespaces/shop/secrets/db-admin`));
    expect(d).toEqual({ allowed: false, reason: 'no container on node "n1" references secrets shop/db-admin' });
  });

  it('lets nodes read every Image, Network, Service (built-in bindings) and Service-backed Container, never another node\'s Secret', async () => {
    const watchImages = req('GET', `${base}/images`, { watch: '1' });
    expect((await union.authorize(nodeUser('n1'), watchImages)).allowed).toBe(true);
    expect((await union.authorize(nodeUser('n1'), req('PATCH', `${base}/namespaces/shop/images/postgres/status`))).allowed).toBe(true);
    expect((await union.authorize(nodeUser('n1'), req('GET', `${base}/networks`))).allowed).toBe(true);
    expect((await union.authorize(nodeUser('n1'), req('GET', `${base}/services`, { watch: '1' }))).allowed).toBe(true);
    expect((await union.authorize(nodeUser('n1'), req('PATCH', `${base}/namespaces/shop/services/web/status`))).allowed).toBe(true);
    // Containers: only those of Services (the service proxy's endpoints), never all of them.
    for (const labelSelector of ['berth.dev/service', 'berth.dev/service=web,tier=db', 'app=x, berth.dev/service in (web)']) {
      expect([labelSelector, (await union.authorize(nodeUser('n1'), req('GET', `${base}/containers`, { labelSelector, watch: '1' }))).allowed]).toEqual([labelSelector, true]);
    }
    for (const labelSelector of ['', '!berth.dev/service', 'berth.dev/service!=web', 'berth.dev/service notin (web)', 'berth.dev/service-x', 'app in (x,berth.dev/service)']) {
      expect([labelSelector, (await union.authorize(nodeUser('n1'), req('GET', `${base}/containers`, { labelSelector }))).allowed]).toEqual([labelSelector, false]);
    }
    // Still refused: another node's Secret, writing Images or Services themselves, deleting Containers.
    expect((await union.authorize(nodeUser('n1'), req('GET', `${base}/namespaces/shop/secrets/db-admin`))).allowed).toBe(false);
    expect((await union.authorize(nodeUser('n1'), req('GET', `${base}/secrets`))).allowed).toBe(false);
    expect((await union.authorize(nodeUser('n1'), req('PUT', `${base}/namespaces/shop/images/postgres`))).allowed).toBe(false);
    expect((await union.authorize(nodeUser('n1'), req('PATCH', `${base}/namespaces/shop/services/web`))).allowed).toBe(false);
    expect((await union.authorize(nodeUser('n1'), req('DELETE', `${base}/namespaces/shop/containers/web`))).allowed).toBe(false);
    // Users that are not nodes get none of it.
    expect((await union.authorize({ username: 'alice', groups: ['system:authenticated'] }, watchImages)).allowed).toBe(false);
  });

  it('still lets a node use discovery (RBAC bootstrap policy)', async () => {
    expect((await union.authorize(nodeUser('n1'), req('GET', '/apis'))).allowed).toBe(true);
  });

  it('answers SelfSubjectAccessReview about the requester and SubjectAccessReview about the named subject', async () => {
    const self = await reviewAccess(
      'SelfSubjectAccessReview',
      { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'shop', verb: 'get', group: 'berth.dev', resource: 'secrets', name: 'tls' } } },
      nodeUser('n1'),
      union,
    );
    expect(self).toMatchObject({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', status: { allowed: true } });
    const other = await reviewAccess(
      'SubjectAccessReview',
      { spec: { user: 'system:node:n2', groups: ['system:nodes'], resourceAttributes: { namespace: 'shop', verb: 'get', group: 'berth.dev', resource: 'secrets', name: 'tls' } } },
      { username: 'admin', groups: ['system:masters'] },
      union,
    );
    expect(other.status).toMatchObject({ allowed: false });
    const nonResource = await reviewAccess('SelfSubjectAccessReview', { spec: { nonResourceAttributes: { path: '/metrics', verb: 'get' } } }, { username: 'admin', groups: ['system:masters'] }, union);
    expect(nonResource.status?.allowed).toBe(true);
  });

  it.each([
    [{ spec: {} }, 'spec.resourceAttributes'],
    [{ spec: { resourceAttributes: { resource: 'x' } } }, 'spec.resourceAttributes.verb'],
    [{ spec: { nonResourceAttributes: { verb: 'get' } } }, 'spec.nonResourceAttributes'],
    ['not an object', 'spec'],
  ])('rejects an invalid review %j naming %s', async (body, field) => {
    await expect(reviewAccess('SelfSubjectAccessReview', body, nodeUser('n1'), union)).rejects.toEqual(expect.objectContaining({ field }));
    await expect(reviewAccess('SelfSubjectAccessReview', body, nodeUser('n1'), union)).rejects.toBeInstanceOf(AccessReviewInvalidError);
  });
});
