/**
 * Feeds the authorizers from the API server's Storage. Keys follow the layout of api/storage/types.ts:
 * `/registry/<group>/<plural>/[<namespace>/]<name>`.
 *
 * Lists are memoized per prefix together with the revision they were read at, and reused while the store's current
 * revision is still that one: exact (any write anywhere invalidates), and it spares a tenant's request the four
 * backend lists RBAC needs whenever the cluster is not being written to.
 */
import { isNotFound, type Storage, type StoredObject } from '../storage';
import type { ContainerLike, NodeGraph } from './node';
import type { RbacKind, RbacLister } from './rbac';

const RBAC_PREFIX = '/registry/rbac.authorization.k8s.io';
const CONTAINERS_PREFIX = '/registry/berth.dev/containers/';

const RBAC_PLURALS: Record<RbacKind, string> = {
  Role: 'roles',
  ClusterRole: 'clusterroles',
  RoleBinding: 'rolebindings',
  ClusterRoleBinding: 'clusterrolebindings',
};

const MEMO_PREFIXES = 1024;

/** `storage.list(prefix).items`, reused while nothing was written since. */
export function memoizedLister(storage: Storage): (prefix: string) => Promise<readonly StoredObject[]> {
  const memo = new Map<string, { revision: number; items: StoredObject[] }>();
  return async (prefix) => {
    const current = await storage.currentRevision();
    const hit = memo.get(prefix);
    if (hit && hit.revision === current) return hit.items;
    const { items, revision } = await storage.list(prefix);
    if (memo.size >= MEMO_PREFIXES) memo.delete(memo.keys().next().value!);
    memo.set(prefix, { revision, items });
    return items;
  };
}

/** Lists RBAC objects from storage: Roles/RoleBindings of one namespace, or the cluster-scoped kinds. */
export function rbacListerFromStorage(storage: Storage): RbacLister {
  const list = memoizedLister(storage);
  return (kind, namespace) => {
    const base = `${RBAC_PREFIX}/${RBAC_PLURALS[kind]}/`;
    return list(namespace && (kind === 'Role' || kind === 'RoleBinding') ? `${base}${namespace}/` : base);
  };
}

/** The node authorizer's view of Containers in storage. */
export function nodeGraphFromStorage(storage: Storage): NodeGraph {
  const list = memoizedLister(storage);
  return {
    async getContainer(namespace, name) {
      try {
        return (await storage.get(`${CONTAINERS_PREFIX}${namespace}/${name}`)) as unknown as ContainerLike;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async listContainersOnNode(nodeName) {
      const all = (await list(CONTAINERS_PREFIX)) as unknown as ContainerLike[];
      return all.filter((c) => c.spec?.nodeName === nodeName);
    },
  };
}
