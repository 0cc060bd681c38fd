/** The one place errors become HTTP: ApiError → its Status; anything else → a 500 Status (and a log line). */
import type { NextFunction, Request, Response } from 'express';
import { ApiError, internalError } from './errors';

export const notFoundHandler = (_req: Request, res: Response): void => {
  res.status(404).json(new ApiError(404, 'NotFound', 'the server could not find the requested resource', {}).toStatus());
};

export const statusErrorHandler = (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
  const apiError = err instanceof ApiError ? err : internalError(err instanceof Error ? err.message : String(err), { cause: err });
  if (apiError.code >= 500) console.error(`berth-apiserver: ${req.method} ${req.originalUrl}:`, err);
  if (res.headersSent) {
    res.end();
    return;
  }
  res.status(apiError.code).json(apiError.toStatus());
};
