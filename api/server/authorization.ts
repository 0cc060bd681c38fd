/**
 * Wires api/authz to what the server stores: RBAC objects and the Container graph the node authorizer needs,
 * read through the (cached) storage; plus the access-review endpoints (`kubectl auth can-i`).
 */
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { getUser } from '../auth';
import {
  AccessReviewInvalidError,
  NodeAuthorizer,
  RbacAuthorizer,
  UnionAuthorizer,
  authorizationMiddleware,
  reviewAccess,
  type Authorizer,
  type ContainerLike,
  type NodeGraph,
  type RbacKind,
} from '../authz';
import type { Storage } from '../storage';
import { keyFor, prefixFor } from '../registry/keys';
import { readPath } from '../registry/selectors';
import { ApiError } from './errors';
import { readBody } from './body';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const CONTAINERS = { group: 'berth.dev', plural: 'containers', namespaced: true };

const rbacPrefix = (kind: RbacKind, namespace?: string): string =>
  prefixFor({ group: RBAC_GROUP, plural: `${kind.toLowerCase()}s`, namespaced: kind === 'Role' || kind === 'RoleBinding' }, namespace);

const storedGraph = (storage: Storage): NodeGraph => ({
  getContainer: (namespace, name) =>
    storage.get(keyFor(CONTAINERS, namespace, name)).then(
      (obj) => obj as unknown as ContainerLike,
      () => undefined,
    ),
  listContainersOnNode: async (nodeName) =>
    (await storage.list(prefixFor(CONTAINERS), { predicate: (obj) => readPath(obj, 'spec.nodeName') === nodeName })).items as unknown as ContainerLike[],
});

export const storedAuthorizer = (storage: Storage): Authorizer =>
  new UnionAuthorizer([
    new NodeAuthorizer(storedGraph(storage)),
    new RbacAuthorizer(async (kind, namespace) => (await storage.list(rbacPrefix(kind, namespace))).items),
  ]);

export const authorizationGuard = (authorizer: Authorizer): RequestHandler => authorizationMiddleware(authorizer);

/** POST /apis/authorization.k8s.io/v1/{selfsubjectaccessreviews,subjectaccessreviews}. */
export const accessReviewRouter = (authorizer: Authorizer): Router => {
  const router = Router();
  const review = (kind: 'SelfSubjectAccessReview' | 'SubjectAccessReview') => (req: Request, res: Response, next: NextFunction) => {
    readBody(req)
      .then((body) => reviewAccess(kind, body, getUser(req)!, authorizer))
      .then((result) => res.status(201).json(result))
      .catch((err: unknown) => {
        if (err instanceof AccessReviewInvalidError)
          return next(new ApiError(422, 'Invalid', `${kind}.authorization.k8s.io is invalid: ${err.field}: ${err.message}`, { kind, group: 'authorization.k8s.io', causes: [{ reason: 'FieldValueInvalid', field: err.field, message: err.message }] }));
        next(err);
      });
  };
  router.post('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', review('SelfSubjectAccessReview'));
  router.post('/apis/authorization.k8s.io/v1/subjectaccessreviews', review('SubjectAccessReview'));
  return router;
};
