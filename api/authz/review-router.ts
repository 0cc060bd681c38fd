/**
 * The `authorization.k8s.io/v1` endpoints `kubectl auth can-i` uses, as one express router: POST
 * selfsubjectaccessreviews, subjectaccessreviews and selfsubjectrulesreviews (for `--list`). It reads its own body
 * (JSON, or the protobuf kubectl sends), so it can be mounted among the guards, after authorization.
 */
import express, { type NextFunction, type Request, type Response, type RequestHandler } from 'express';
import { forPaths } from '../server/route-filter';
import { bodyParserErrors, getUser, sendStatus, UserInfo } from '../auth';
import { parseBody, rawBody } from './body';
import type { PolicyRule } from './rbac';
import { AccessReviewInvalidError, AccessReviewKind, AUTHORIZATION_API_VERSION, reviewAccess } from './review';
import type { Authorizer } from './types';

const BASE = '/apis/authorization.k8s.io/v1';

export interface AccessReviewRouterOptions {
  /** Every rule that applies to a user in a namespace (RbacAuthorizer.rulesFor); enables selfsubjectrulesreviews. */
  readonly rulesFor?: (user: UserInfo, namespace: string) => Promise<PolicyRule[]>;
}

export function accessReviewRouter(authorizer: Authorizer, opts: AccessReviewRouterOptions = {}): RequestHandler {
  const router = express.Router();
  const review = (kind: AccessReviewKind) => (req: Request, res: Response, next: NextFunction) => {
    const user = getUser(req);
    if (!user) return next(new Error('accessReviewRouter needs authenticationMiddleware mounted before it'));
    let body: unknown;
    try {
      body = parseBody(req);
    } catch (err) {
      return sendStatus(res, 400, 'BadRequest', (err as Error).message);
    }
    reviewAccess(kind, body, user, authorizer)
      .then((result) => res.status(201).json(result))
      .catch((err) => {
        if (!(err instanceof AccessReviewInvalidError)) return next(err);
        sendStatus(res, 422, 'Invalid', `${kind}.authorization.k8s.io is invalid: ${err.field}: Invalid value: ${err.message}`, {
          kind,
          group: 'authorization.k8s.io',
          causes: [{ reason: 'FieldValueInvalid', message: err.message, field: err.field }],
        });
      });
  };
  router.post(`${BASE}/selfsubjectaccessreviews`, rawBody, review('SelfSubjectAccessReview'));
  router.post(`${BASE}/subjectaccessreviews`, rawBody, review('SubjectAccessReview'));
  if (opts.rulesFor) {
    const rulesFor = opts.rulesFor;
    router.post(`${BASE}/selfsubjectrulesreviews`, rawBody, (req, res, next) => {
      let body: { spec?: { namespace?: string } };
      try {
        body = parseBody(req) as typeof body;
      } catch (err) {
        return sendStatus(res, 400, 'BadRequest', (err as Error).message);
      }
      const namespace = body?.spec?.namespace ?? '';
      rulesFor(getUser(req)!, namespace)
        .then((rules) =>
          res.status(201).json({
            apiVersion: AUTHORIZATION_API_VERSION,
            kind: 'SelfSubjectRulesReview',
            metadata: { creationTimestamp: null },
            spec: { namespace },
            status: {
              resourceRules: rules
                .filter((r) => !r.nonResourceURLs?.length)
                .map((r) => ({ verbs: r.verbs, apiGroups: r.apiGroups, resources: r.resources, resourceNames: r.resourceNames })),
              nonResourceRules: rules
                .filter((r) => r.nonResourceURLs?.length)
                .map((r) => ({ verbs: r.verbs, nonResourceURLs: r.nonResourceURLs })),
              incomplete: false,
            },
          }),
        )
        .catch(next);
    });
  }
  router.use(bodyParserErrors);
  return forPaths(/^\/apis\/authorization\.k8s\.io\//i, router);
}
