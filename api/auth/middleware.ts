import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TLSSocket } from 'node:tls';
import { statusBody } from './status';
import { Authenticator, AuthRequest, GROUP_AUTHENTICATED, UserInfo } from './types';

/**
 * Paths anyone may read without credentials, as Kubernetes' `system:public-info-viewer` role allows:
 * load balancers and `kubectl version` probe them before they hold a credential, and a joining node fetches the CA
 * certificate (public anyway) to check it against its join token. `/metrics` is not among them.
 */
export const PUBLIC_PATHS: readonly string[] = ['/healthz', '/readyz', '/livez', '/version', '/join/v1/ca'];

export const ANONYMOUS_USER: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

const users = new WeakMap<Request, UserInfo>();
const failures = new WeakMap<Request, string>();
const impersonators = new WeakMap<Request, UserInfo>();

/** The user the authentication middleware established for this request (anonymous on public paths). */
export function getUser(req: Request): UserInfo | undefined {
  return users.get(req);
}

/**
 * Makes the request act as `user` from here on (impersonation, after the caller was authorized for it); the
 * authenticated caller stays available through getImpersonator for the audit log.
 */
export function actAs(req: Request, user: UserInfo): void {
  const caller = users.get(req);
  if (caller !== undefined) impersonators.set(req, caller);
  users.set(req, user);
}

/** The authenticated user who impersonates getUser(req), if any. */
export function getImpersonator(req: Request): UserInfo | undefined {
  return impersonators.get(req);
}

/** Why authentication failed (for the audit log only; the client sees just "Unauthorized"). */
export function getAuthenticationFailure(req: Request): string | undefined {
  return failures.get(req);
}

/** Reads the credentials of an express request: the Authorization header and the TLS client certificate. */
export function authRequestFrom(req: Request): AuthRequest {
  const socket = req.socket as Partial<TLSSocket>;
  const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(false) : undefined;
  return { authorization: req.headers.authorization, clientCertificateDer: peer?.raw };
}

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
}

/** The `Status` body Kubernetes sends with a 401. It never says why, so probing learns nothing. */
export function unauthorizedStatus(): object {
  return statusBody(401, 'Unauthorized', 'Unauthorized');
}

/**
 * Express middleware: establishes the request's user or answers 401.
 * Invalid credentials are refused everywhere (also on public paths); missing credentials are refused except on
 * PUBLIC_PATHS, where the request proceeds as `system:anonymous`. Every authenticated user also gets the
 * `system:authenticated` group.
 */
export function authenticationMiddleware(authenticator: Authenticator): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    Promise.resolve(authenticator.authenticate(authRequestFrom(req)))
      .then((result) => {
        if (result !== null && 'user' in result) {
          const groups = result.user.groups.includes(GROUP_AUTHENTICATED)
            ? result.user.groups
            : [...result.user.groups, GROUP_AUTHENTICATED];
          users.set(req, { ...result.user, groups });
          return next();
        }
        if (result === null && isPublicPath(req.path)) {
          users.set(req, ANONYMOUS_USER);
          return next();
        }
        failures.set(req, result === null ? 'no credentials' : result.error);
        res.status(401).json(unauthorizedStatus());
      })
      .catch(next);
  };
}
