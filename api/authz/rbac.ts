/**
 * RBAC evaluation over `rbac.authorization.k8s.io/v1` objects, with Kubernetes' matching rules
 * (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac): a request is allowed if any rule of any role bound to the
 * user (by a ClusterRoleBinding anywhere, or by a RoleBinding in the request's namespace) covers it.
 * RBAC only ever allows; when nothing matches it has no opinion, and the union denies.
 */
import { GROUP_MASTERS, SERVICEACCOUNT_USER_PREFIX, UserInfo } from '../auth';
import { bootstrapClusterRoleBindings, bootstrapClusterRoles, CLUSTER_ADMIN_RULES } from './bootstrap';
import { allow, Attributes, Authorizer, Decision, noOpinion } from './types';

export interface PolicyRule {
  readonly verbs: readonly string[];
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface Role {
  readonly metadata: ObjectMeta;
  readonly rules?: readonly PolicyRule[];
}

export interface ClusterRole extends Role {
  readonly aggregationRule?: { readonly clusterRoleSelectors?: readonly { matchLabels?: Record<string, string> }[] };
}

export interface Subject {
  readonly kind: 'User' | 'Group' | 'ServiceAccount' | string;
  readonly name: string;
  readonly namespace?: string;
  readonly apiGroup?: string;
}

export interface RoleRef {
  readonly apiGroup?: string;
  readonly kind: 'Role' | 'ClusterRole' | string;
  readonly name: string;
}

export interface RoleBinding {
  readonly metadata: ObjectMeta;
  readonly subjects?: readonly Subject[];
  readonly roleRef: RoleRef;
}

export type ClusterRoleBinding = RoleBinding;

export type RbacKind = 'Role' | 'ClusterRole' | 'RoleBinding' | 'ClusterRoleBinding';

/**
 * Supplies the RBAC objects the server holds (from storage or its watch cache).
 * For Role and RoleBinding, `namespace` is the namespace to list; for the cluster kinds it is undefined.
 */
export type RbacLister = (kind: RbacKind, namespace?: string) => Promise<readonly unknown[]> | readonly unknown[];

export interface RbacOptions {
  /** Also apply the built-in roles and bindings of `bootstrap.ts` (default true). */
  readonly includeBootstrap?: boolean;
}

export class RbacAuthorizer implements Authorizer {
  private readonly includeBootstrap: boolean;

  constructor(
    private readonly lister: RbacLister,
    opts: RbacOptions = {},
  ) {
    this.includeBootstrap = opts.includeBootstrap ?? true;
  }

  async authorize(user: UserInfo, attrs: Attributes): Promise<Decision> {
    if (user.groups.includes(GROUP_MASTERS)) return allow(`member of ${GROUP_MASTERS}`);

    const clusterRoles = await this.clusterRoles();
    const clusterBindings = [
      ...(this.includeBootstrap ? bootstrapClusterRoleBindings() : []),
      ...((await this.lister('ClusterRoleBinding')) as ClusterRoleBinding[]),
    ];
    for (const binding of clusterBindings) {
      if (binding.roleRef?.kind !== 'ClusterRole' || !appliesTo(binding, user, undefined)) continue;
      const role = clusterRoles.get(binding.roleRef.name);
      if (role && rulesAllow(effectiveRules(role, clusterRoles), attrs)) {
        return allow(`RBAC: allowed by ClusterRoleBinding "${binding.metadata.name}" of ClusterRole "${role.metadata.name}"`);
      }
    }

    if (!attrs.namespace || !attrs.isResourceRequest) return noOpinion();
    const namespace = attrs.namespace;
    const bindings = (await this.lister('RoleBinding', namespace)) as RoleBinding[];
    const applicable = bindings.filter((b) => b.metadata.namespace === namespace && appliesTo(b, user, namespace));
    if (applicable.length === 0) return noOpinion();
    const roles = new Map(
      ((await this.lister('Role', namespace)) as Role[])
        .filter((r) => r.metadata.namespace === namespace)
        .map((r) => [r.metadata.name ?? '', r]),
    );
    for (const binding of applicable) {
      const kind = binding.roleRef?.kind;
      const role = kind === 'Role' ? roles.get(binding.roleRef.name) : kind === 'ClusterRole' ? clusterRoles.get(binding.roleRef.name) : undefined;
      if (role && rulesAllow(effectiveRules(role, clusterRoles), attrs)) {
        return allow(
          `RBAC: allowed by RoleBinding "${binding.metadata.name}/${namespace}" of ${kind} "${role.metadata.name}"`,
        );
      }
    }
    return noOpinion();
  }

  /** Every rule that applies to `user` in `namespace` (for SelfSubjectRulesReview and `kubectl auth can-i --list`). */
  async rulesFor(user: UserInfo, namespace: string): Promise<PolicyRule[]> {
    if (user.groups.includes(GROUP_MASTERS)) return [...CLUSTER_ADMIN_RULES];
    const clusterRoles = await this.clusterRoles();
    const rules: PolicyRule[] = [];
    const clusterBindings = [
      ...(this.includeBootstrap ? bootstrapClusterRoleBindings() : []),
      ...((await this.lister('ClusterRoleBinding')) as ClusterRoleBinding[]),
    ];
    for (const b of clusterBindings) {
      const role = b.roleRef?.kind === 'ClusterRole' ? clusterRoles.get(b.roleRef.name) : undefined;
      if (role && appliesTo(b, user, undefined)) rules.push(...effectiveRules(role, clusterRoles));
    }
    const roles = new Map(((await this.lister('Role', namespace)) as Role[]).map((r) => [r.metadata.name ?? '', r]));
    for (const b of (await this.lister('RoleBinding', namespace)) as RoleBinding[]) {
      if (b.metadata.namespace !== namespace || !appliesTo(b, user, namespace)) continue;
      const kind = b.roleRef?.kind;
      const role = kind === 'Role' ? roles.get(b.roleRef.name) : kind === 'ClusterRole' ? clusterRoles.get(b.roleRef.name) : undefined;
      if (role) rules.push(...effectiveRules(role, clusterRoles).filter((r) => !r.nonResourceURLs?.length));
    }
    return rules;
  }

  /** The effective rules of the role a binding refers to (a Role in `namespace`, or a ClusterRole); undefined if absent. */
  async roleRules(ref: RoleRef, namespace: string | undefined): Promise<readonly PolicyRule[] | undefined> {
    const clusterRoles = await this.clusterRoles();
    if (ref.kind === 'ClusterRole') {
      const role = clusterRoles.get(ref.name);
      return role && effectiveRules(role, clusterRoles);
    }
    if (ref.kind !== 'Role' || !namespace) return undefined;
    const role = ((await this.lister('Role', namespace)) as Role[]).find(
      (r) => r.metadata.namespace === namespace && r.metadata.name === ref.name,
    );
    return role?.rules;
  }

  private async clusterRoles(): Promise<Map<string, ClusterRole>> {
    const stored = (await this.lister('ClusterRole')) as ClusterRole[];
    const all = [...(this.includeBootstrap ? bootstrapClusterRoles() : []), ...stored];
    return new Map(all.map((r) => [r.metadata.name ?? '', r]));
  }
}

/** Whether any subject of `binding` is this user. ServiceAccount subjects default to the binding's namespace. */
export function appliesTo(binding: RoleBinding, user: UserInfo, bindingNamespace: string | undefined): boolean {
  return (binding.subjects ?? []).some((s) => {
    switch (s.kind) {
      case 'User':
        return s.name === user.username;
      case 'Group':
        return user.groups.includes(s.name);
      case 'ServiceAccount': {
        const ns = s.namespace || bindingNamespace;
        return ns !== undefined && user.username === `${SERVICEACCOUNT_USER_PREFIX}${ns}:${s.name}`;
      }
      default:
        return false;
    }
  });
}

/** A ClusterRole with an aggregationRule has the rules of every ClusterRole its selectors match (labels only). */
function effectiveRules(role: ClusterRole, clusterRoles: Map<string, ClusterRole>): readonly PolicyRule[] {
  const selectors = role.aggregationRule?.clusterRoleSelectors;
  if (!selectors || selectors.length === 0) return role.rules ?? [];
  const rules: PolicyRule[] = [];
  for (const candidate of clusterRoles.values()) {
    if (candidate === role) continue;
    const labels = candidate.metadata.labels ?? {};
    const selected = selectors.some((sel) =>
      Object.entries(sel.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
    );
    if (selected) rules.push(...(candidate.rules ?? []));
  }
  return rules;
}

export function rulesAllow(rules: readonly PolicyRule[], attrs: Attributes): boolean {
  return rules.some((rule) => ruleAllows(rule, attrs));
}

export function ruleAllows(rule: PolicyRule, attrs: Attributes): boolean {
  if (!matchesAny(rule.verbs, attrs.verb)) return false;
  if (!attrs.isResourceRequest) return nonResourceUrlMatches(rule.nonResourceURLs ?? [], attrs.path ?? '');
  return (
    matchesAny(rule.apiGroups ?? [], attrs.apiGroup ?? '') &&
    resourceMatches(rule.resources ?? [], attrs.resource ?? '', attrs.subresource) &&
    (rule.resourceNames === undefined || rule.resourceNames.length === 0 || rule.resourceNames.includes(attrs.name ?? ''))
  );
}

function matchesAny(allowed: readonly string[], value: string): boolean {
  return allowed.includes('*') || allowed.includes(value);
}

/** `*` matches everything; `res` only the resource itself; `res/sub` and `*\/sub` a subresource. */
function resourceMatches(allowed: readonly string[], resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  return allowed.some((r) => r === '*' || r === combined || (subresource !== undefined && r === `*/${subresource}`));
}

/** Exact paths, or a prefix when the rule ends in `*` (`/apis/*`). */
function nonResourceUrlMatches(allowed: readonly string[], path: string): boolean {
  return allowed.some((u) => u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1))));
}
