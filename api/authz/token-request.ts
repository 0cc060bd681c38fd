/**
 * TokenRequest for service accounts, the endpoint `kubectl create token NAME -n NS` uses:
 * POST /api/v1/namespaces/NS/serviceaccounts/NAME/token → 201 with `status.token`, a service-account token
 * (api/auth ServiceAccountTokens) for `system:serviceaccount:NS:NAME`. Berth keeps no ServiceAccount objects: a
 * service account exists by being named in a token and bound in RBAC. Who may mint one is RBAC's call
 * (`create` on `serviceaccounts/token` in NS; the built-in admin and edit roles have it).
 */
import express, { type RequestHandler } from 'express';
import { forPaths } from '../server/route-filter';
import { bodyParserErrors, getUser, sendStatus, ServiceAccountTokens } from '../auth';
import { parseBody, rawBody } from './body';

const MIN_SECONDS = 600;
const MAX_SECONDS = 48 * 3600;
const DEFAULT_SECONDS = 3600;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function tokenRequestRouter(serviceAccounts: ServiceAccountTokens): RequestHandler {
  const router = express.Router();
  router.post('/api/v1/namespaces/:namespace/serviceaccounts/:name/token', rawBody, (req, res, next) => {
    if (!getUser(req)) return next(new Error('tokenRequestRouter needs authenticationMiddleware mounted before it'));
    const { namespace, name } = req.params;
    if (!DNS_LABEL.test(namespace) || !DNS_LABEL.test(name) || name.length > 63) {
      return sendStatus(res, 422, 'Invalid', `TokenRequest is invalid: service account name "${name}" or namespace "${namespace}" is not a DNS label`);
    }
    let spec: { expirationSeconds?: unknown; audiences?: unknown };
    try {
      spec = ((parseBody(req) as { spec?: typeof spec } | null)?.spec ?? {}) as typeof spec;
    } catch (err) {
      return sendStatus(res, 400, 'BadRequest', (err as Error).message);
    }
    const requested = typeof spec.expirationSeconds === 'number' ? spec.expirationSeconds : DEFAULT_SECONDS;
    if (requested < MIN_SECONDS) {
      return sendStatus(res, 422, 'Invalid', `TokenRequest is invalid: spec.expirationSeconds: may not specify a duration less than ${MIN_SECONDS} seconds`);
    }
    const seconds = Math.min(requested, MAX_SECONDS);
    const token = serviceAccounts.issue(namespace, name, { ttlSeconds: seconds });
    res.status(201).json({
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace, creationTimestamp: null },
      spec: { audiences: Array.isArray(spec.audiences) ? spec.audiences : ['berth'], expirationSeconds: seconds, boundObjectRef: null },
      status: { token, expirationTimestamp: new Date(Date.now() + seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z') },
    });
  });
  router.use(bodyParserErrors);
  return forPaths(/\/token\/?$/i, router);
}
