/**
 * RBAC privilege-escalation prevention (Kubernetes' rule): a user may create or update a Role/ClusterRole only with
 * permissions they already hold (or with the `escalate` verb on it), and a RoleBinding/ClusterRoleBinding only to a
 * role whose permissions they hold (or with the `bind` verb on that role). Otherwise a namespace admin could bind
 * `cluster-admin` in their namespace, or write a Role with `*` on Secrets they cannot read.
 *
 * Coverage is checked atom by atom through the same authorizer: each (verb, group, resource, name) of the new rules
 * must be allowed for the user in the object's namespace. A wildcard is itself an atom, so `*` is covered only by `*`.
 */
import type { UserInfo } from '../auth';
import type { PolicyRule, RbacAuthorizer, RoleRef } from './rbac';
import type { Attributes, Authorizer } from './types';

const RBAC_GROUP = 'rbac.authorization.k8s.io';

export type RbacResource = 'roles' | 'clusterroles' | 'rolebindings' | 'clusterrolebindings';

export function isRbacResource(group: string | undefined, resource: string | undefined): resource is RbacResource {
  return group === RBAC_GROUP && ['roles', 'clusterroles', 'rolebindings', 'clusterrolebindings'].includes(resource ?? '');
}

/**
 * The refusal message (answer 403 Forbidden with it) if `user` writing `object` as `resource` would grant permissions
 * they do not hold; undefined when the write may proceed. Call on create and update of the four RBAC kinds, after
 * the body is parsed.
 */
export async function rbacEscalationError(
  authorizer: Authorizer,
  rbac: RbacAuthorizer,
  user: UserInfo,
  resource: RbacResource,
  object: { metadata?: { name?: string; namespace?: string }; rules?: readonly PolicyRule[] | null; roleRef?: RoleRef },
): Promise<string | undefined> {
  const namespace = resource === 'roles' || resource === 'rolebindings' ? object.metadata?.namespace : undefined;
  const may = async (verb: string, res: string, name?: string) =>
    (await authorizer.authorize(user, { verb, isResourceRequest: true, apiGroup: RBAC_GROUP, resource: res, namespace, name })).allowed;

  let rules: readonly PolicyRule[];
  if (resource === 'roles' || resource === 'clusterroles') {
    if (await may('escalate', resource, object.metadata?.name)) return undefined;
    rules = object.rules ?? [];
  } else {
    const ref = object.roleRef;
    if (!ref) return undefined; // schema validation reports the missing roleRef
    if (await may('bind', ref.kind === 'Role' ? 'roles' : 'clusterroles', ref.name)) return undefined;
    const referenced = await rbac.roleRules(ref, namespace);
    if (referenced === undefined) return `${ref.kind} "${ref.name}" not found`;
    // Non-resource URLs of a ClusterRole do not apply through a namespaced binding.
    rules = resource === 'rolebindings' ? referenced.filter((r) => !r.nonResourceURLs?.length) : referenced;
  }
  for (const rule of rules) {
    for (const atom of atomsOf(rule, namespace)) {
      if (!(await authorizer.authorize(user, atom)).allowed) {
        return `user "${user.username}" is attempting to grant RBAC permissions not currently held: ${describeAtom(atom)}`;
      }
    }
  }
  return undefined;
}

/** Every single permission a rule grants, as the attributes of a request that would use it. */
function atomsOf(rule: PolicyRule, namespace: string | undefined): Attributes[] {
  const atoms: Attributes[] = [];
  for (const verb of rule.verbs) {
    for (const path of rule.nonResourceURLs ?? []) atoms.push({ verb, isResourceRequest: false, path });
    for (const apiGroup of rule.apiGroups ?? []) {
      for (const combined of rule.resources ?? []) {
        const [resource, subresource] = combined.split('/', 2);
        const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
        for (const name of names) atoms.push({ verb, isResourceRequest: true, apiGroup, resource, subresource, namespace, name });
      }
    }
  }
  return atoms;
}

function describeAtom(a: Attributes): string {
  if (!a.isResourceRequest) return `{NonResourceURLs:["${a.path}"], Verbs:["${a.verb}"]}`;
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const names = a.name ? `, ResourceNames:["${a.name}"]` : '';
  return `{APIGroups:["${a.apiGroup}"], Resources:["${resource}"]${names}, Verbs:["${a.verb}"]}`;
}
