import type { UserInfo } from '../../../api/auth';
import { RbacAuthorizer, RbacKind, rbacEscalationError, isRbacResource } from '../../../api/authz';

const objects: Record<RbacKind, unknown[]> = {
  ClusterRole: [{ metadata: { name: 'secret-reader' }, rules: [{ apiGroups: ['berth.dev'], resources: ['secrets'], verbs: ['get'] }] }],
  ClusterRoleBinding: [
    { metadata: { name: 'binder' }, subjects: [{ kind: 'User', name: 'binder' }], roleRef: { kind: 'ClusterRole', name: 'binder' } },
  ],
  Role: [{ metadata: { name: 'limited', namespace: 'a' }, rules: [{ apiGroups: ['berth.dev'], resources: ['containers'], verbs: ['get', 'list'] }] }],
  RoleBinding: [
    // alice administers namespace a through the built-in `edit` plus rolebindings/roles management.
    { metadata: { name: 'alice-edit', namespace: 'a' }, subjects: [{ kind: 'User', name: 'alice' }], roleRef: { kind: 'ClusterRole', name: 'edit' } },
    { metadata: { name: 'alice-rbac', namespace: 'a' }, subjects: [{ kind: 'User', name: 'alice' }], roleRef: { kind: 'Role', name: 'rbac-manager' } },
  ],
};
(objects.Role as unknown[]).push({
  metadata: { name: 'rbac-manager', namespace: 'a' },
  rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['create', 'update'] }],
});
(objects.ClusterRole as unknown[]).push({
  metadata: { name: 'binder' },
  rules: [{ apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['bind'], resourceNames: ['cluster-admin'] }],
});

const lister = (kind: RbacKind, ns?: string) => (objects[kind] as { metadata: { namespace?: string } }[]).filter((o) => ns === undefined || o.metadata.namespace === ns);
const rbac = new RbacAuthorizer(lister);
const alice: UserInfo = { username: 'alice', groups: ['system:authenticated'] };

describe('rbacEscalationError', () => {
  it('lets a user write a Role with permissions they hold', async () => {
    const role = { metadata: { name: 'r', namespace: 'a' }, rules: [{ apiGroups: ['berth.dev'], resources: ['containers', 'services/scale'], verbs: ['get', 'patch'] }] };
    expect(await rbacEscalationError(rbac, rbac, alice, 'roles', role)).toBeUndefined();
  });

  it.each([
    ['a wildcard verb', { apiGroups: ['berth.dev'], resources: ['containers'], verbs: ['*'] }, 'Verbs:["*"]'],
    ['a wildcard resource', { apiGroups: ['berth.dev'], resources: ['*'], verbs: ['get'] }, 'Resources:["*"]'],
    ['deleting RBAC objects', { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles'], verbs: ['delete'] }, 'Verbs:["delete"]'],
  ])('refuses a Role granting %s she lacks', async (_what, rule, detail) => {
    const error = await rbacEscalationError(rbac, rbac, alice, 'roles', { metadata: { name: 'r', namespace: 'a' }, rules: [rule] });
    expect(error).toContain('user "alice" is attempting to grant RBAC permissions not currently held');
    expect(error).toContain(detail);
  });

  it('refuses binding cluster-admin in her namespace, allows binding a role she covers', async () => {
    const bind = (name: string, kind = 'ClusterRole') => ({ metadata: { name: 'b', namespace: 'a' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name } });
    expect(await rbacEscalationError(rbac, rbac, alice, 'rolebindings', bind('cluster-admin'))).toContain('not currently held');
    expect(await rbacEscalationError(rbac, rbac, alice, 'rolebindings', bind('limited', 'Role'))).toBeUndefined();
    expect(await rbacEscalationError(rbac, rbac, alice, 'rolebindings', bind('view'))).toBeUndefined();
    expect(await rbacEscalationError(rbac, rbac, alice, 'rolebindings', bind('missing'))).toBe('ClusterRole "missing" not found');
  });

  it('honours the bind verb on a named role and never restricts system:masters', async () => {
    const binder: UserInfo = { username: 'binder', groups: [] };
    const crb = (name: string) => ({ metadata: { name: 'x' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name } });
    expect(await rbacEscalationError(rbac, rbac, binder, 'clusterrolebindings', crb('cluster-admin'))).toBeUndefined();
    expect(await rbacEscalationError(rbac, rbac, binder, 'clusterrolebindings', crb('secret-reader'))).toContain('not currently held');
    const root: UserInfo = { username: 'root', groups: ['system:masters'] };
    expect(await rbacEscalationError(rbac, rbac, root, 'clusterroles', { metadata: { name: 'x' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] })).toBeUndefined();
  });

  it('recognises the RBAC resources', () => {
    expect(isRbacResource('rbac.authorization.k8s.io', 'rolebindings')).toBe(true);
    expect(isRbacResource('berth.dev', 'roles')).toBe(false);
  });
});
