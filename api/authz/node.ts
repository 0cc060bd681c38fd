/**
 * The node authorizer (after Kubernetes' `Node` authorizer): a node agent, authenticated as `system:node:<name>` in
 * group `system:nodes`, may
 *  - read, create and update its own Node (and its status), and its own Lease (named after the node, in the
 *    `berth-node-lease` namespace, which it may create);
 *  - list/watch Containers only with `fieldSelector=spec.nodeName=<name>` (or, for its service proxy, only those of
 *    Services: `labelSelector=berth.dev/service`), get and update the status of the
 *    Containers bound to it (`spec.nodeName`) — and, with `containerFinalizers`, their metadata.finalizers only
 *    (checked by `nodeWriteError`, which needs the stored object);
 *  - read the Secrets, Images and Networks those Containers reference (by name, in their namespace);
 *  - create Events.
 * Everything else gets no opinion from this authorizer (so RBAC may still grant it, as in Kubernetes; by default
 * nothing binds nodes). The decision is a pure function of the attributes and what `NodeGraph` returns.
 */
import { isDeepStrictEqual } from 'node:util';
import { GROUP_NODES, NODE_USER_PREFIX, UserInfo } from '../auth';
import { fieldSelectorValue, labelSelectorRequires } from './requestinfo';
import { allow, Attributes, Authorizer, Decision, noOpinion } from './types';

const BERTH_GROUP = 'berth.dev';
const READ_VERBS = new Set(['get', 'list', 'watch']);
/** Where node Leases live (node-agent/agent uses the same name). Restricting Leases to it keeps nodes away from leader-election Leases. */
export const NODE_LEASE_NAMESPACE = 'berth-node-lease';
/** The label the service controller puts on a Service's Containers (controllers/service SERVICE_LABEL). */
const SERVICE_LABEL = 'berth.dev/service';

/** The fields of a Container the node authorizer reads. */
export interface ContainerLike {
  readonly metadata: { readonly name?: string; readonly namespace?: string };
  readonly spec?: {
    readonly nodeName?: string;
    readonly image?: string;
    readonly secrets?: readonly { readonly name?: string }[];
    readonly env?: readonly { readonly valueFrom?: { readonly secretKeyRef?: { readonly name?: string } } }[];
    readonly envFrom?: readonly { readonly secretRef?: { readonly name?: string } }[];
    readonly network?: string;
    readonly networks?: readonly (string | { readonly name?: string })[];
  };
}

/** Read access to the objects the decision depends on; the server backs it with storage or its watch cache. */
export interface NodeGraph {
  getContainer(namespace: string, name: string): Promise<ContainerLike | undefined>;
  /** Every Container (all namespaces) whose spec.nodeName is `nodeName`. */
  listContainersOnNode(nodeName: string): Promise<readonly ContainerLike[]>;
}

export type ReferencedKind = 'secrets' | 'images' | 'networks';

/** The names of the Secrets, Images and Networks a Container uses (in its own namespace). */
export function referencedObjects(container: ContainerLike): Record<ReferencedKind, Set<string>> {
  const spec = container.spec ?? {};
  const secrets = new Set<string>();
  for (const s of spec.secrets ?? []) if (s.name) secrets.add(s.name);
  for (const e of spec.env ?? []) if (e.valueFrom?.secretKeyRef?.name) secrets.add(e.valueFrom.secretKeyRef.name);
  for (const e of spec.envFrom ?? []) if (e.secretRef?.name) secrets.add(e.secretRef.name);
  const networks = new Set<string>();
  if (spec.network) networks.add(spec.network);
  for (const n of spec.networks ?? []) {
    const name = typeof n === 'string' ? n : n.name;
    if (name) networks.add(name);
  }
  const images = new Set<string>(spec.image ? [spec.image] : []);
  return { secrets, images, networks };
}

/** The node name of a node identity, or undefined if `user` is not a node. */
export function nodeNameOf(user: UserInfo): string | undefined {
  if (!user.username.startsWith(NODE_USER_PREFIX) || !user.groups.includes(GROUP_NODES)) return undefined;
  const name = user.username.slice(NODE_USER_PREFIX.length);
  return name.length > 0 ? name : undefined;
}

export interface NodeAuthorizerOptions {
  /**
   * Let a node update/patch the Containers bound to it (not only their status), so its agent can add and remove its
   * finalizer. Only safe when every such write also passes `nodeWriteError` (which refuses any change but
   * metadata.finalizers); off by default.
   */
  readonly containerFinalizers?: boolean;
}

export class NodeAuthorizer implements Authorizer {
  constructor(
    private readonly graph: NodeGraph,
    private readonly opts: NodeAuthorizerOptions = {},
  ) {}

  async authorize(user: UserInfo, attrs: Attributes): Promise<Decision> {
    const node = nodeNameOf(user);
    if (node === undefined || !attrs.isResourceRequest) return noOpinion();
    const refuse = (why: string): Decision => noOpinion(`node "${node}" ${why}`);
    const group = attrs.apiGroup ?? '';
    if (group === '' && attrs.resource === 'namespaces') {
      // Only to make sure its Lease namespace exists; the name is in the body (nodeAdmissionError checks it).
      return attrs.verb === 'create' && attrs.name === undefined ? allow(`node "${node}" creating the ${NODE_LEASE_NAMESPACE} namespace`) : refuse('may not access namespaces');
    }
    if (group !== BERTH_GROUP && !(group === '' && attrs.resource === 'events')) return refuse('may only use berth.dev kinds');

    switch (attrs.resource) {
      case 'nodes':
        return this.ownObject(node, attrs, ['get', 'list', 'watch', 'create', 'update', 'patch'], 'Node');
      case 'leases':
        if (attrs.namespace !== NODE_LEASE_NAMESPACE) return refuse(`may only use Leases in namespace ${NODE_LEASE_NAMESPACE}`);
        return this.ownObject(node, attrs, ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], 'Lease');
      case 'events':
        return attrs.verb === 'create' || attrs.verb === 'patch' ? allow('node may record events') : refuse('may only create events');
      case 'containers':
        return this.containers(node, attrs);
      case 'secrets':
      case 'images':
      case 'networks':
        return this.referenced(node, attrs.resource, attrs);
      default:
        return refuse(`may not access ${attrs.resource}`);
    }
  }

  /**
   * Its own Node or Lease: the object named after the node (a list/watch must be pinned to that name). A create
   * carries the name only in its body, so it is allowed here and checked by `nodeAdmissionError` once the body is read.
   */
  private ownObject(node: string, attrs: Attributes, verbs: string[], kind: string): Decision {
    if (!verbs.includes(attrs.verb)) return noOpinion(`node "${node}" may not ${attrs.verb} ${kind}s`);
    if (attrs.verb === 'create' && attrs.name === undefined) return allow(`node "${node}" creating a ${kind} (name checked at admission)`);
    if (attrs.name !== node) return noOpinion(`node "${node}" may only access its own ${kind}`);
    return allow(`node "${node}" accessing its own ${kind}`);
  }

  private async containers(node: string, attrs: Attributes): Promise<Decision> {
    if (attrs.verb === 'list' || attrs.verb === 'watch') {
      if (fieldSelectorValue(attrs.fieldSelector, 'spec.nodeName') === node) return allow(`node "${node}" listing its own containers`);
      // The node's service proxy forwards to a Service's ready Containers on any node (kube-proxy reads endpoints
      // cluster-wide too); Containers in no Service stay hidden. ADR 0005.
      if (labelSelectorRequires(attrs.labelSelector, SERVICE_LABEL)) return allow(`node "${node}" listing the endpoints of Services`);
      return noOpinion(`node "${node}" may only list containers with fieldSelector spec.nodeName=${node} or labelSelector ${SERVICE_LABEL}`);
    }
    const writes = attrs.verb === 'update' || attrs.verb === 'patch';
    const writesStatus = writes && attrs.subresource === 'status';
    const writesFinalizers = writes && attrs.subresource === undefined && this.opts.containerFinalizers === true;
    const reads = attrs.verb === 'get' && (attrs.subresource === undefined || attrs.subresource === 'status');
    if (!writesStatus && !writesFinalizers && !reads) return noOpinion(`node "${node}" may not ${attrs.verb} containers${sub(attrs)}`);
    if (!attrs.namespace || !attrs.name) return noOpinion(`node "${node}" must name the container`);
    const container = await this.graph.getContainer(attrs.namespace, attrs.name);
    if (container?.spec?.nodeName !== node) {
      return noOpinion(`node "${node}" has no container ${attrs.namespace}/${attrs.name} bound to it`);
    }
    return allow(`container ${attrs.namespace}/${attrs.name} is bound to node "${node}"`);
  }

  private async referenced(node: string, kind: ReferencedKind, attrs: Attributes): Promise<Decision> {
    if (!READ_VERBS.has(attrs.verb)) return noOpinion(`node "${node}" may not ${attrs.verb} ${kind}`);
    // A list/watch counts only when pinned to one name (`metadata.name=X`, which requestAttributes turns into name).
    if (!attrs.namespace || !attrs.name) return noOpinion(`node "${node}" may only read named ${kind}`);
    for (const container of await this.graph.listContainersOnNode(node)) {
      if (container.spec?.nodeName !== node || container.metadata.namespace !== attrs.namespace) continue;
      if (referencedObjects(container)[kind].has(attrs.name)) {
        return allow(`${kind} ${attrs.namespace}/${attrs.name} is used by container ${container.metadata.name} on node "${node}"`);
      }
    }
    return noOpinion(`no container on node "${node}" references ${kind} ${attrs.namespace}/${attrs.name}`);
  }
}

/**
 * Admission for writes by a node (Kubernetes' NodeRestriction): a node may create only the Node and Lease named after
 * itself, and no namespace but the Lease namespace. Returns the refusal message (answer 403 with it), or undefined
 * when the write may proceed. The server calls it for every create once the body is parsed; it is a no-op for users
 * that are not nodes. `nodeWriteError` (what ClusterSecurity.admit runs) includes it.
 */
export function nodeAdmissionError(user: UserInfo, attrs: Attributes, object: { metadata?: { name?: string } }): string | undefined {
  const node = nodeNameOf(user);
  if (node === undefined || attrs.verb !== 'create') return undefined;
  const name = object.metadata?.name;
  if (attrs.resource === 'namespaces') {
    return name === NODE_LEASE_NAMESPACE ? undefined : `node "${node}" may not create namespaces "${name ?? ''}"`;
  }
  if (attrs.resource !== 'nodes' && attrs.resource !== 'leases') return undefined;
  return name === node ? undefined : `node "${node}" may not create ${attrs.resource} "${name ?? ''}"`;
}

/** What a node may not change when it writes one of its Containers outside /status (everything but its finalizers). */
function protectedContainerFields(o: Record<string, unknown>): unknown {
  const meta = (o.metadata ?? {}) as Record<string, unknown>;
  return {
    spec: o.spec,
    labels: meta.labels,
    annotations: meta.annotations,
    ownerReferences: meta.ownerReferences,
    name: meta.name,
    namespace: meta.namespace,
  };
}

/**
 * All admission checks for a node's writes: `nodeAdmissionError`, plus, for an update/patch of a Container (not its
 * status), that nothing but metadata.finalizers changed against the stored object — otherwise a node could add a
 * secret reference to its own container and then read that secret, or relabel it into another Service.
 */
export async function nodeWriteError(
  user: UserInfo,
  attrs: Attributes,
  object: Record<string, unknown> & { metadata?: { name?: string } },
  graph: NodeGraph,
): Promise<string | undefined> {
  const refusal = nodeAdmissionError(user, attrs, object);
  if (refusal !== undefined) return refusal;
  const node = nodeNameOf(user);
  const isContainerWrite = attrs.resource === 'containers' && attrs.subresource === undefined && (attrs.verb === 'update' || attrs.verb === 'patch');
  if (node === undefined || !isContainerWrite) return undefined;
  const current = attrs.namespace && attrs.name ? await graph.getContainer(attrs.namespace, attrs.name) : undefined;
  if (current === undefined || current.spec?.nodeName !== node) return `node "${node}" has no container ${attrs.namespace}/${attrs.name} bound to it`;
  // Compared as JSON values (key order and prototypes aside).
  const [before, after] = [protectedContainerFields(current as unknown as Record<string, unknown>), protectedContainerFields(object)].map(
    (v) => JSON.parse(JSON.stringify(v)) as unknown,
  );
  return isDeepStrictEqual(before, after) ? undefined : `node "${node}" may change only metadata.finalizers of container ${attrs.namespace}/${attrs.name}`;
}

const sub = (attrs: Attributes): string => (attrs.subresource ? `/${attrs.subresource}` : '');
