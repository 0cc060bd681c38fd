/**
 * The HTTP side of joining (join.ts), under `/join/v1/`:
 *   GET  ca            → { caPem }                      anyone (the joiner checks it against its token's fingerprint)
 *   POST certificates  { nodeName, publicKeyPem }       a bootstrapper (valid join token) → 201 { certPem, caPem, expires }
 *   POST renew         { publicKeyPem }                 a node, with its current certificate → 201 a fresh one for itself
 * The private key never leaves the node: it sends only its public key.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { GROUP_BOOTSTRAPPERS, JoinRole, NodeCertificates, GROUP_MANAGERS } from './join';
import { getUser } from './middleware';
import type { CertificateAuthority } from './pki';
import { GROUP_NODES, NODE_USER_PREFIX, UserInfo } from './types';

export const JOIN_PATH_PREFIX = '/join/v1';

const fail = (res: Response, code: number, reason: string, message: string): void => {
  res.status(code).json({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
};

export function joinRouter(ca: CertificateAuthority, nodeCertificates: NodeCertificates): Router {
  const router = express.Router();
  const json = express.json({ limit: 64 * 1024 });

  router.get(`${JOIN_PATH_PREFIX}/ca`, (_req, res) => {
    res.json({ caPem: ca.certPem });
  });

  const issue = (nodeNameOf: (user: UserInfo, body: Record<string, unknown>) => string | undefined, roleOf: (user: UserInfo) => JoinRole) =>
    (req: Request, res: Response, next: NextFunction) => {
      const user = getUser(req);
      if (!user) return next(new Error('joinRouter needs authenticationMiddleware mounted before it'));
      const body = (req.body ?? {}) as Record<string, unknown>;
      const nodeName = nodeNameOf(user, body);
      if (nodeName === undefined) return fail(res, 403, 'Forbidden', `User "${user.username}" may not request this node certificate`);
      if (typeof body.publicKeyPem !== 'string') return fail(res, 422, 'Invalid', 'publicKeyPem: Required value');
      try {
        const issued = nodeCertificates.issue(nodeName, body.publicKeyPem, roleOf(user));
        res.status(201).json({ certPem: issued.certPem, caPem: ca.certPem, expires: issued.expires.toISOString() });
      } catch (err) {
        fail(res, 422, 'Invalid', (err as Error).message);
      }
    };

  router.post(
    `${JOIN_PATH_PREFIX}/certificates`,
    json,
    issue(
      (user, body) => (user.groups.includes(GROUP_BOOTSTRAPPERS) && typeof body.nodeName === 'string' ? body.nodeName : undefined),
      (user) => (user.groups.includes(`${GROUP_BOOTSTRAPPERS}:manager`) ? 'manager' : 'worker'),
    ),
  );
  router.post(
    `${JOIN_PATH_PREFIX}/renew`,
    json,
    issue(
      (user) => (user.groups.includes(GROUP_NODES) && user.username.startsWith(NODE_USER_PREFIX) ? user.username.slice(NODE_USER_PREFIX.length) : undefined),
      (user) => (user.groups.includes(GROUP_MANAGERS) ? 'manager' : 'worker'),
    ),
  );
  return router;
}
