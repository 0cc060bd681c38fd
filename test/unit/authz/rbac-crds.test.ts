/** manifests/crds/rbac-*.yaml load as CRDs and accept what `kubectl create role|clusterrole|rolebinding|clusterrolebinding` send. */
import * as path from 'node:path';
import { SchemaRegistry } from '../../../api/schema';
import { readManifestDir } from '../../../api/schema/load';

const CRD_DIR = path.join(__dirname, '../../../manifests/crds');

describe('RBAC CRDs', () => {
  const registry = new SchemaRegistry();
  const rbacCrds = readManifestDir(CRD_DIR).filter(({ file }) => path.basename(file).startsWith('rbac-'));
  for (const { doc } of rbacCrds) registry.addCrd(doc, true);
  const resolve = (plural: string) => registry.resolve('rbac.authorization.k8s.io', 'v1', plural)!;

  it.each([
    ['roles', 'Role', true],
    ['clusterroles', 'ClusterRole', false],
    ['rolebindings', 'RoleBinding', true],
    ['clusterrolebindings', 'ClusterRoleBinding', false],
  ])('serves rbac.authorization.k8s.io/v1 %s as %s (namespaced %s)', (plural, kind, namespaced) => {
    expect(resolve(plural)).toMatchObject({ kind, plural, namespaced, apiVersion: 'rbac.authorization.k8s.io/v1' });
  });

  // Bodies as kubectl 1.32 sends them (from `kubectl create ... --dry-run=client -o json`).
  it.each([
    ['roles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader', namespace: 'a', creationTimestamp: null }, rules: [{ verbs: ['get', 'list'], apiGroups: ['berth.dev'], resources: ['containers', 'services/status'], resourceNames: ['web'] }] }],
    ['clusterroles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'm', creationTimestamp: null }, rules: [{ verbs: ['get'], nonResourceURLs: ['/metrics'] }] }],
    ['clusterroles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'agg' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { a: 'b' } }] }, rules: null }],
    ['rolebindings', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'a', creationTimestamp: null }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }, { kind: 'ServiceAccount', name: 'ci', namespace: 'a' }] }],
    ['clusterrolebindings', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'crb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'ops' }] }],
  ])('accepts a %s body kubectl sends', (plural, body) => {
    const result = registry.admit(resolve(plural), body);
    expect(result.errors).toEqual([]);
    expect(result.unknownFields).toEqual([]);
  });

  it.each([
    ['roles', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'a' }, rules: [{ resources: ['x'] }] }, 'verbs'],
    ['rolebindings', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'a' }, subjects: [] }, 'roleRef'],
    ['clusterrolebindings', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'c' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' } }, 'kind'],
    ['rolebindings', { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'x' }, subjects: [{ kind: 'Robot', name: 'r' }] }, 'kind'],
  ])('rejects an invalid %s (%#) naming the field', (plural, body, field) => {
    const { errors } = registry.admit(resolve(plural), body);
    expect(errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(errors)).toContain(field);
  });
});
