/**
 * Authorization for the Berth API server: RBAC over rbac.authorization.k8s.io/v1 objects, the node authorizer,
 * access reviews (`kubectl auth can-i`) and the express middleware.
 *
 * Simplest wiring (does all of api/auth's set-up too):
 *   const security = createClusterSecurity({ home, storage });    // PKI, admin token, authn, RBAC+node authz, audit log
 *   createApp({ storage, schemas, guards: security.guards });      // audit → 401 → 403 → /apis/authorization.k8s.io/v1/*reviews
 *   admission of every write, with the resulting object: `await security.admit(user, attributesOf(req), obj)` → 403
 *     (node own-object and finalizer-only rules + RBAC escalation); then `nodeContainerFinalizers: true` is safe.
 *   https.createServer(security.tlsOptions, app); writeKubeconfig(..., { token: security.adminToken });
 *   body decoding: for application/vnd.kubernetes.protobuf, try decodeAuthzProtobuf(raw) first (Role, ClusterRole,
 *   RoleBinding, ClusterRoleBinding as `kubectl create role|rolebinding` send them); undefined → not an RBAC kind.
 *
 * The pieces, for a custom wiring (after api/auth's authenticationMiddleware):
 *   const authorizer = new UnionAuthorizer([
 *     new NodeAuthorizer(nodeGraph),            // nodeGraph: getContainer(ns, name), listContainersOnNode(node) from storage/cache
 *     new RbacAuthorizer(rbacLister),           // rbacLister(kind, ns?) → the stored Role/ClusterRole/RoleBinding/ClusterRoleBinding objects
 *   ]);
 *   app.use(authorizationMiddleware(authorizer));  // 403 Status unless allowed; `system:masters` (the admin token) always allowed
 *   on create, once the body is parsed: nodeAdmissionError(getUser(req)!, attributesOf(req), body) → 403 with that message
 *     (a node may create only the Node and Lease named after itself; the name is not in a create's URL);
 *   on create/update/patch of the RBAC kinds (isRbacResource(group, resource)), with the resulting object:
 *     await rbacEscalationError(security.authorizer, security.rbac, user, resource, obj) → 403 Forbidden with that message.
 *   app.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', (req, res) =>
 *     reviewAccess('SelfSubjectAccessReview', req.body, getUser(req)!, authorizer).then((r) => res.status(201).json(r)));
 *   (same for subjectaccessreviews; AccessReviewInvalidError → 422 naming err.field).
 * `attributesOf(req)` / `requestAttributes({method, path, query})` parse a URL into {verb, apiGroup, resource, ...};
 * the audit middleware of api/auth takes `attributesOf` as its attribute source.
 * Every authenticated user may use discovery, /openapi, health endpoints and create self-subject reviews
 * (built-in bootstrap policy, see bootstrap.ts); RBAC kinds are served through manifests/crds/rbac-*.yaml.
 */
export * from './types';
export { requestAttributes, fieldSelectorValue } from './requestinfo';
export type { RequestLine } from './requestinfo';
export { RbacAuthorizer, appliesTo, ruleAllows, rulesAllow } from './rbac';
export type {
  PolicyRule,
  Role,
  ClusterRole,
  RoleBinding,
  ClusterRoleBinding,
  Subject,
  RoleRef,
  RbacKind,
  RbacLister,
  RbacOptions,
} from './rbac';
export { bootstrapClusterRoles, bootstrapClusterRoleBindings, CLUSTER_ADMIN_RULES } from './bootstrap';
export { NodeAuthorizer, nodeNameOf, referencedObjects, nodeAdmissionError, nodeWriteError, NODE_LEASE_NAMESPACE } from './node';
export type { NodeGraph, ContainerLike, ReferencedKind, NodeAuthorizerOptions } from './node';
export { UnionAuthorizer } from './union';
export { authorizationMiddleware, attributesOf, forbiddenMessage, forbiddenStatus } from './middleware';
export { reviewAccess, reviewAttributes, AccessReviewInvalidError, AUTHORIZATION_API_VERSION } from './review';
export type { AccessReview, AccessReviewKind, AccessReviewSpec, ResourceAttributes } from './review';
export { decodeAuthzProtobuf, ProtobufDecodeError } from './protobuf';
export { accessReviewRouter } from './review-router';
export type { AccessReviewRouterOptions } from './review-router';
export { rbacListerFromStorage, nodeGraphFromStorage, memoizedLister } from './sources';
export { createClusterSecurity } from './security';
export type { ClusterSecurity, ClusterSecurityOptions } from './security';
export { rbacEscalationError, isRbacResource } from './escalation';
export type { RbacResource } from './escalation';
export { tokenRequestRouter } from './token-request';
export { impersonationMiddleware } from './impersonation';
