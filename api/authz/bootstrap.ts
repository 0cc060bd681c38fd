/**
 * Built-in RBAC policy, applied by the RBAC authorizer without being stored (so it cannot be deleted by mistake),
 * after Kubernetes' bootstrap policy: cluster-admin, admin, edit, view to bind, and what every authenticated user
 * may do (discovery, health, `kubectl auth can-i`). The server may also create these objects so `kubectl get
 * clusterroles` shows them. A stored ClusterRole of the same name replaces the built-in one (so an admin can widen
 * `view`); stored bindings are added to the built-in ones, which cannot be removed.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule } from './rbac';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const BERTH_GROUP = 'berth.dev';
const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];

/** The workload kinds (and their subresources) a namespace's users manage; Secrets are listed separately. */
const WORKLOAD_RESOURCES = [
  'containers',
  'containers/status',
  'containers/log',
  'containers/exec',
  'services',
  'services/status',
  'services/scale',
  'images',
  'images/status',
  'networks',
  'networks/status',
  'events',
];

export const CLUSTER_ADMIN_RULES: readonly PolicyRule[] = [
  { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
  { nonResourceURLs: ['*'], verbs: ['*'] },
];

const PUBLIC_INFO_URLS = ['/healthz', '/healthz/*', '/livez', '/livez/*', '/readyz', '/readyz/*', '/version', '/version/', '/join/v1/ca'];
const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/openapi', '/openapi/*'];

const clusterRole = (name: string, rules: PolicyRule[]): ClusterRole => ({
  metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
  rules,
});

export function bootstrapClusterRoles(): ClusterRole[] {
  return [
    clusterRole('cluster-admin', [...CLUSTER_ADMIN_RULES]),
    clusterRole('admin', [
      { apiGroups: ['', BERTH_GROUP], resources: [...WORKLOAD_RESOURCES, 'secrets'], verbs: [...READ, ...WRITE] },
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
      { apiGroups: [RBAC_GROUP], resources: ['roles', 'rolebindings'], verbs: [...READ, ...WRITE] },
    ]),
    clusterRole('edit', [
      { apiGroups: ['', BERTH_GROUP], resources: [...WORKLOAD_RESOURCES, 'secrets'], verbs: [...READ, ...WRITE] },
      { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
    ]),
    // As in Kubernetes, view does not include Secrets.
    clusterRole('view', [{ apiGroups: ['', BERTH_GROUP], resources: WORKLOAD_RESOURCES, verbs: READ }]),
    clusterRole('system:basic-user', [
      {
        apiGroups: ['authorization.k8s.io'],
        resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
        verbs: ['create'],
      },
      { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
    ]),
    clusterRole('system:discovery', [{ nonResourceURLs: DISCOVERY_URLS, verbs: ['get'] }]),
    clusterRole('system:public-info-viewer', [{ nonResourceURLs: PUBLIC_INFO_URLS, verbs: ['get'] }]),
    // Bound to group system:nodes by default (docs/adr/0005-node-agent-cluster-reads.md): the node agent's Image
    // controller makes every Image present on its node and writes their status (ADR 0004), and its network provider
    // watches every Network; the node authorizer alone allows only what the node's Containers reference.
    clusterRole('system:node-images-networks', [
      { apiGroups: [BERTH_GROUP], resources: ['images', 'networks'], verbs: READ },
      { apiGroups: [BERTH_GROUP], resources: ['images/status'], verbs: ['get', 'update', 'patch'] },
    ]),
    // Bound to system:nodes by default, like Kubernetes' system:node-proxier for kube-proxy: each agent's service
    // proxy serves every Service and reports canary traffic in status (the Service-backed Containers it forwards to
    // are the node authorizer's to allow). Secrets are in neither role: a node reads only those its Containers use.
    clusterRole('system:node-proxier', [
      { apiGroups: [BERTH_GROUP], resources: ['services'], verbs: READ },
      { apiGroups: [BERTH_GROUP], resources: ['services/status'], verbs: ['get', 'patch'] },
    ]),
    // Joining: a join token may ask for a node certificate; a node may renew its own (see api/auth/join-router.ts).
    clusterRole('system:node-bootstrapper', [{ nonResourceURLs: ['/join/v1/certificates'], verbs: ['post'] }]),
    clusterRole('system:node-renewal', [{ nonResourceURLs: ['/join/v1/renew'], verbs: ['post'] }]),
  ];
}

const groupBinding = (name: string, groups: string[]): ClusterRoleBinding => ({
  metadata: { name, labels: { 'kubernetes.io/bootstrapping': 'rbac-defaults' } },
  subjects: groups.map((g) => ({ kind: 'Group', apiGroup: RBAC_GROUP, name: g })),
  roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name },
});

export function bootstrapClusterRoleBindings(): ClusterRoleBinding[] {
  return [
    groupBinding('cluster-admin', ['system:masters']),
    groupBinding('system:basic-user', ['system:authenticated']),
    groupBinding('system:discovery', ['system:authenticated']),
    groupBinding('system:public-info-viewer', ['system:authenticated', 'system:unauthenticated']),
    groupBinding('system:node-bootstrapper', ['system:bootstrappers']),
    groupBinding('system:node-renewal', ['system:nodes']),
    groupBinding('system:node-images-networks', ['system:nodes']),
    groupBinding('system:node-proxier', ['system:nodes']),
  ];
}
