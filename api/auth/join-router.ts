/**
 * The HTTP side of joining (join.ts), under `/join/v1/`:
 *   GET  ca            → { caPem }                      anyone (the joiner checks it against its token's fingerprint)
 *   POST certificates  { nodeName, publicKeyPem }       a bootstrapper (valid join token) → 201 { certPem, caPem, expires }
 *   POST renew         { publicKeyPem }                 a node, with its current certificate → 201 a fresh one for itself
 * The private key never leaves the node: it sends only its public key. Bad input is a 400/422 Status, never a 500.
 */
import express, { type NextFunction, type Request, type Response, type RequestHandler } from 'express';
import { forPaths } from '../server/route-filter';
import { GROUP_BOOTSTRAPPERS, GROUP_MANAGERS, JoinRole, NodeCertificates } from './join';
import { getUser } from './middleware';
import type { CertificateAuthority } from './pki';
import { bodyParserErrors, sendStatus } from './status';
import { GROUP_NODES, NODE_USER_PREFIX, UserInfo } from './types';

export const JOIN_PATH_PREFIX = '/join/v1';

/** Who may ask for which node's certificate, with which role. */
interface IssuePolicy {
  readonly mayRequest: (user: UserInfo) => boolean;
  readonly nodeNameOf: (user: UserInfo, body: Record<string, unknown>) => unknown;
  readonly roleOf: (user: UserInfo) => JoinRole;
}

const BOOTSTRAP: IssuePolicy = {
  mayRequest: (user) => user.groups.includes(GROUP_BOOTSTRAPPERS),
  nodeNameOf: (_user, body) => body.nodeName,
  roleOf: (user) => (user.groups.includes(`${GROUP_BOOTSTRAPPERS}:manager`) ? 'manager' : 'worker'),
};

const RENEWAL: IssuePolicy = {
  mayRequest: (user) => user.groups.includes(GROUP_NODES) && user.username.startsWith(NODE_USER_PREFIX),
  nodeNameOf: (user) => user.username.slice(NODE_USER_PREFIX.length),
  roleOf: (user) => (user.groups.includes(GROUP_MANAGERS) ? 'manager' : 'worker'),
};

export function joinRouter(ca: CertificateAuthority, nodeCertificates: NodeCertificates): RequestHandler {
  const router = express.Router();
  const json = express.json({ limit: 64 * 1024 });

  router.get(`${JOIN_PATH_PREFIX}/ca`, (_req, res) => {
    res.json({ caPem: ca.certPem });
  });

  const issue = (policy: IssuePolicy) => (req: Request, res: Response, next: NextFunction) => {
    const user = getUser(req);
    if (!user) return next(new Error('joinRouter needs authenticationMiddleware mounted before it'));
    if (!policy.mayRequest(user)) return sendStatus(res, 403, 'Forbidden', `User "${user.username}" may not request node certificates here`);
    const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
    const nodeName = policy.nodeNameOf(user, body);
    if (typeof nodeName !== 'string') return sendStatus(res, 422, 'Invalid', 'nodeName: Required value');
    if (typeof body.publicKeyPem !== 'string') return sendStatus(res, 422, 'Invalid', 'publicKeyPem: Required value');
    try {
      const issued = nodeCertificates.issue(nodeName, body.publicKeyPem, policy.roleOf(user));
      res.status(201).json({ certPem: issued.certPem, caPem: ca.certPem, expires: issued.expires.toISOString() });
    } catch (err) {
      sendStatus(res, 422, 'Invalid', (err as Error).message);
    }
  };
  router.post(`${JOIN_PATH_PREFIX}/certificates`, json, issue(BOOTSTRAP));
  router.post(`${JOIN_PATH_PREFIX}/renew`, json, issue(RENEWAL));

  router.use(JOIN_PATH_PREFIX, bodyParserErrors);
  return forPaths(/^\/join\//i, router);
}
