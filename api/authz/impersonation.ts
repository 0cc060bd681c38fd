/**
 * User impersonation (`kubectl --as=USER --as-group=GROUP`), as Kubernetes does it: the `Impersonate-User` /
 * `Impersonate-Group` / `Impersonate-Uid` headers make the request act as that user, if the authenticated caller
 * may `impersonate` each of them (resource `users`, `groups`, `uids`, or `serviceaccounts` for
 * `system:serviceaccount:NS:NAME`, in core group ""). Cluster admins may impersonate anyone. Ignoring the headers
 * would be worse than refusing them: the request would silently run with the caller's own rights.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { actAs, getUser, GROUP_AUTHENTICATED, GROUP_SERVICEACCOUNTS, SERVICEACCOUNT_USER_PREFIX, statusBody, UserInfo } from '../auth';
import type { Attributes, Authorizer } from './types';

const headerValues = (req: Request, name: string): string[] => {
  const raw = req.headers[name];
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
};

function serviceAccountOf(username: string): { namespace: string; name: string } | undefined {
  if (!username.startsWith(SERVICEACCOUNT_USER_PREFIX)) return undefined;
  const parts = username.slice(SERVICEACCOUNT_USER_PREFIX.length).split(':');
  return parts.length === 2 ? { namespace: parts[0], name: parts[1] } : undefined;
}

/** What the caller must be allowed, one check per impersonated attribute. */
function impersonationChecks(username: string, groups: string[], uid: string | undefined): Attributes[] {
  const sa = serviceAccountOf(username);
  const userCheck: Attributes = sa
    ? { verb: 'impersonate', isResourceRequest: true, apiGroup: '', resource: 'serviceaccounts', namespace: sa.namespace, name: sa.name }
    : { verb: 'impersonate', isResourceRequest: true, apiGroup: '', resource: 'users', name: username };
  return [
    userCheck,
    ...groups.map((g): Attributes => ({ verb: 'impersonate', isResourceRequest: true, apiGroup: '', resource: 'groups', name: g })),
    ...(uid ? [{ verb: 'impersonate', isResourceRequest: true, apiGroup: 'authentication.k8s.io', resource: 'uids', name: uid }] : []),
  ];
}

/** Mount after authenticationMiddleware and before authorizationMiddleware. */
export function impersonationMiddleware(authorizer: Authorizer): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    // Almost no request impersonates: skip parsing three absent headers (this runs on every request).
    const { headers } = req;
    if (headers['impersonate-user'] === undefined && headers['impersonate-group'] === undefined && headers['impersonate-uid'] === undefined) return next();
    const [username, ...extraUsers] = headerValues(req, 'impersonate-user');
    const groups = headerValues(req, 'impersonate-group');
    const [uid] = headerValues(req, 'impersonate-uid');
    if (username === undefined && groups.length === 0 && uid === undefined) return next();
    const caller = getUser(req);
    if (!caller) return next(new Error('impersonationMiddleware needs authenticationMiddleware mounted before it'));
    if (username === undefined || extraUsers.length > 0) {
      return void res.status(400).json(statusBody(400, 'BadRequest', 'impersonation needs exactly one Impersonate-User'));
    }
    (async () => {
      for (const check of impersonationChecks(username, groups, uid)) {
        if (!(await authorizer.authorize(caller, check)).allowed) {
          const message = `${check.resource} "${check.name}" is forbidden: User "${caller.username}" cannot impersonate resource "${check.resource}" in API group "${check.apiGroup}"`;
          return void res.status(403).json(statusBody(403, 'Forbidden', message));
        }
      }
      const sa = serviceAccountOf(username);
      // As Kubernetes does: an impersonated service account is in its service-account groups too.
      const implied = sa ? [GROUP_SERVICEACCOUNTS, `${GROUP_SERVICEACCOUNTS}:${sa.namespace}`] : [];
      const impersonated: UserInfo = { username, uid, groups: [...new Set([...groups, ...implied, GROUP_AUTHENTICATED])] };
      actAs(req, impersonated);
      next();
    })().catch(next);
  };
}
