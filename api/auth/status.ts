/** Kubernetes `Status` failure bodies for the endpoints of api/auth and api/authz. */
import type { ErrorRequestHandler, Response } from 'express';

export function statusBody(code: number, reason: string, message: string, details?: object): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code };
}

export function sendStatus(res: Response, code: number, reason: string, message: string, details?: object): void {
  res.status(code).json(statusBody(code, reason, message, details));
}

/**
 * Mount after routes that use express's body parsers: a malformed (400) or oversized (413) body is the client's
 * fault and answered as such, instead of reaching the server's catch-all as a 500.
 */
export const bodyParserErrors: ErrorRequestHandler = (err: { status?: number; message?: string }, _req, res, next) => {
  if (typeof err?.status !== 'number' || err.status < 400 || err.status >= 500) return next(err);
  sendStatus(res, err.status, err.status === 413 ? 'RequestEntityTooLarge' : 'BadRequest', err.message ?? 'bad request');
};
