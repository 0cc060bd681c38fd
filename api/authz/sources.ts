/**
 * Feeds the authorizers from the API server's Storage (ideally the watch-cached one, so these reads stay in memory).
 * Keys follow the layout of api/storage/types.ts: `/registry/<group>/<plural>/[<namespace>/]<name>`.
 */
import { isNotFound, type Storage } from '../storage';
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

/** Lists RBAC objects from storage: Roles/RoleBindings of one namespace, or the cluster-scoped kinds. */
export function rbacListerFromStorage(storage: Storage): RbacLister {
  return async (kind, namespace) => {
    const base = `${RBAC_PREFIX}/${RBAC_PLURALS[kind]}/`;
    const prefix = namespace && (kind === 'Role' || kind === 'RoleBinding') ? `${base}${namespace}/` : base;
    return (await storage.list(prefix)).items;
  };
}

/** The node authorizer's view of Containers in storage. */
export function nodeGraphFromStorage(storage: Storage): NodeGraph {
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
      const { items } = await storage.list(CONTAINERS_PREFIX, {
        predicate: (o) => (o as unknown as ContainerLike).spec?.nodeName === nodeName,
      });
      return items as unknown as ContainerLike[];
    },
  };
}
