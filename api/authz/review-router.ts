/**
 * The `authorization.k8s.io/v1` endpoints `kubectl auth can-i` uses, as one express router: POST
 * selfsubjectaccessreviews, subjectaccessreviews and selfsubjectrulesreviews (for `--list`). It reads its own body
 * (JSON, or the protobuf kubectl sends), so it can be mounted among the guards, after authorization.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { getUser, UserInfo } from '../auth';
import { decodeAuthzProtobuf, ProtobufDecodeError } from './protobuf';
import type { PolicyRule } from './rbac';
import { AccessReviewInvalidError, AccessReviewKind, AUTHORIZATION_API_VERSION, reviewAccess } from './review';
import type { Authorizer } from './types';

const BASE = '/apis/authorization.k8s.io/v1';
const MAX_BODY = 1024 * 1024;

export interface AccessReviewRouterOptions {
  /** Every rule that applies to a user in a namespace (RbacAuthorizer.rulesFor); enables selfsubjectrulesreviews. */
  readonly rulesFor?: (user: UserInfo, namespace: string) => Promise<PolicyRule[]>;
}

const status = (code: number, reason: string, message: string, details?: object): object => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details ? { details } : {}),
  code,
});

export function accessReviewRouter(authorizer: Authorizer, opts: AccessReviewRouterOptions = {}): Router {
  const router = express.Router();
  const raw = express.raw({ type: () => true, limit: MAX_BODY });
  const review = (kind: AccessReviewKind) => (req: Request, res: Response, next: NextFunction) => {
    const user = getUser(req);
    if (!user) return next(new Error('accessReviewRouter needs authenticationMiddleware mounted before it'));
    let body: unknown;
    try {
      body = parseBody(req);
    } catch (err) {
      return void res.status(400).json(status(400, 'BadRequest', (err as Error).message));
    }
    reviewAccess(kind, body, user, authorizer)
      .then((result) => res.status(201).json(result))
      .catch((err) => {
        if (!(err instanceof AccessReviewInvalidError)) return next(err);
        res.status(422).json(
          status(422, 'Invalid', `${kind}.authorization.k8s.io is invalid: ${err.field}: Invalid value: ${err.message}`, {
            kind,
            group: 'authorization.k8s.io',
            causes: [{ reason: 'FieldValueInvalid', message: err.message, field: err.field }],
          }),
        );
      });
  };
  router.post(`${BASE}/selfsubjectaccessreviews`, raw, review('SelfSubjectAccessReview'));
  router.post(`${BASE}/subjectaccessreviews`, raw, review('SubjectAccessReview'));
  if (opts.rulesFor) {
    const rulesFor = opts.rulesFor;
    router.post(`${BASE}/selfsubjectrulesreviews`, raw, (req, res, next) => {
      let body: { spec?: { namespace?: string } };
      try {
        body = parseBody(req) as typeof body;
      } catch (err) {
        return void res.status(400).json(status(400, 'BadRequest', (err as Error).message));
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
  return router;
}

function parseBody(req: Request): unknown {
  const bytes = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  if ((req.headers['content-type'] ?? '').startsWith('application/vnd.kubernetes.protobuf')) {
    const decoded = decodeAuthzProtobuf(bytes);
    if (decoded === undefined) throw new ProtobufDecodeError('body is not an authorization.k8s.io/v1 review');
    return decoded;
  }
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new Error('request body is not valid JSON');
  }
}
