/**
 * Long-running requests (watches, log follows, exec) outlive the moment their credentials were checked: a node whose
 * certificate is revoked would keep its open watches. Every `intervalMs` (+ up to 1 s) that a request stays open, its
 * credentials are authenticated again; once they no longer pass (revoked or expired certificate, removed token), the
 * response is ended, and the client's next request gets 401.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ANONYMOUS_USER, authRequestFrom, getUser, unauthorizedStatus } from './middleware';
import type { Authenticator } from './types';

export const CREDENTIAL_RECHECK_MS = 5000;

interface OpenRequest {
  readonly req: Request;
  readonly res: Response;
  /** performance.now() of the request's start or its last successful check. */
  checkedAt: number;
  checking: boolean;
}

/**
 * One sweep a second (at most every `intervalMs`) over the requests still open re-authenticates those last checked
 * `intervalMs` ago or more, so a revocation ends them within `intervalMs` + 1 s. Short requests only join and leave
 * a set: no timer of their own (this middleware runs on every request).
 */
export function credentialRecheckMiddleware(authenticator: Authenticator, intervalMs = CREDENTIAL_RECHECK_MS): RequestHandler {
  const open = new Set<OpenRequest>();
  let sweeper: NodeJS.Timeout | undefined;
  const recheck = (entry: OpenRequest): void => {
    entry.checking = true;
    Promise.resolve(authenticator.authenticate(authRequestFrom(entry.req)))
      .then((result) => {
        entry.checkedAt = performance.now();
        if (result !== null && 'user' in result) return;
        if (!open.delete(entry)) return;
        if (entry.res.headersSent) entry.res.end();
        else entry.res.status(401).json(unauthorizedStatus());
      })
      // An authenticator that cannot answer right now (a state file being replaced) is asked again at the next sweep.
      .catch(() => undefined)
      .finally(() => (entry.checking = false));
  };
  const sweep = (): void => {
    const now = performance.now();
    for (const entry of open) if (!entry.checking && now - entry.checkedAt >= intervalMs) recheck(entry);
    if (open.size === 0) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };
  return (req: Request, res: Response, next: NextFunction) => {
    // Anonymous requests (public paths) carry nothing to re-check.
    if (getUser(req) === ANONYMOUS_USER) return next();
    const entry: OpenRequest = { req, res, checkedAt: performance.now(), checking: false };
    open.add(entry);
    // 'close' follows every response, finished or cut off.
    res.once('close', () => open.delete(entry));
    sweeper ??= setInterval(sweep, Math.min(1000, intervalMs)).unref();
    next();
  };
}
