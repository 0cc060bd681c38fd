import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getUser, statusBody, UserInfo } from '../auth';
import { requestAttributes } from './requestinfo';
import { Attributes, Authorizer } from './types';

const parsedAttributes = new WeakMap<Request, Attributes>();

/**
 * The request's authorization attributes, parsed from its URL (what the audit middleware and admission also want):
 * parsed once per request, since method and URL do not change.
 */
export function attributesOf(req: Request): Attributes {
  let attrs = parsedAttributes.get(req);
  if (attrs === undefined) {
    attrs = requestAttributes({ method: req.method, path: req.originalUrl.split('?')[0], query: req.query });
    parsedAttributes.set(req, attrs);
  }
  return attrs;
}

/**
 * Kubernetes' wording for a refusal, e.g. `containers "web" is forbidden: User "alice" cannot get resource
 * "containers" in API group "berth.dev" in the namespace "b"`. It names only what the caller asked for.
 */
export function forbiddenMessage(user: UserInfo, attrs: Attributes, reason: string): string {
  const why = reason ? `: ${reason}` : '';
  if (!attrs.isResourceRequest) {
    return `forbidden: User "${user.username}" cannot ${attrs.verb} path "${attrs.path}"${why}`;
  }
  const target = attrs.name ? `${attrs.resource} "${attrs.name}"` : `${attrs.resource}`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const scope = attrs.namespace ? ` in the namespace "${attrs.namespace}"` : ' at the cluster scope';
  return `${target} is forbidden: User "${user.username}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.apiGroup ?? ''}"${scope}${why}`;
}

export function forbiddenStatus(user: UserInfo, attrs: Attributes, reason: string): object {
  return statusBody(403, 'Forbidden', forbiddenMessage(user, attrs, reason), { name: attrs.name, group: attrs.apiGroup, kind: attrs.resource });
}

/** Express middleware, mounted after authenticationMiddleware: 403 `Status` unless the authorizer allows. */
export function authorizationMiddleware(authorizer: Authorizer): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const user = getUser(req);
    if (user === undefined) {
      next(new Error('authorizationMiddleware needs authenticationMiddleware mounted before it'));
      return;
    }
    const attrs = attributesOf(req);
    Promise.resolve(authorizer.authorize(user, attrs))
      .then((decision) => {
        if (decision.allowed) return next();
        res.status(403).json(forbiddenStatus(user, attrs, decision.reason));
      })
      .catch(next);
  };
}
