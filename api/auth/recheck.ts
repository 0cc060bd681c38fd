/**
 * Long-running requests (watches, log follows, exec) outlive the moment their credentials were checked: a node whose
 * certificate is revoked would keep its open watches. Every `intervalMs` that a request stays open, its credentials
 * are authenticated again; once they no longer pass (revoked or expired certificate, removed token), the response is
 * ended, and the client's next request gets 401.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ANONYMOUS_USER, authRequestFrom, getUser, unauthorizedStatus } from './middleware';
import type { Authenticator } from './types';

export const CREDENTIAL_RECHECK_MS = 5000;

export function credentialRecheckMiddleware(authenticator: Authenticator, intervalMs = CREDENTIAL_RECHECK_MS): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    // Anonymous requests (public paths) carry nothing to re-check.
    if (getUser(req) === ANONYMOUS_USER) return next();
    const credentials = authRequestFrom(req);
    let open = true;
    let timer: NodeJS.Timeout | undefined;
    const schedule = (): void => {
      if (open) timer = setTimeout(recheck, intervalMs).unref();
    };
    const recheck = (): void => {
      Promise.resolve(authenticator.authenticate(credentials))
        .then((result) => {
          if (result !== null && 'user' in result) return schedule();
          if (!open) return;
          if (res.headersSent) res.end();
          else res.status(401).json(unauthorizedStatus());
        })
        // An authenticator that cannot answer right now (a state file being replaced) is asked again later.
        .catch(schedule);
    };
    const done = (): void => {
      open = false;
      clearTimeout(timer);
    };
    res.once('close', done);
    res.once('finish', done);
    schedule();
    next();
  };
}
