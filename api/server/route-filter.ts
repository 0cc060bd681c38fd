/**
 * Express enters every router a request passes, allocating its dispatch state and testing each route, even when
 * none of the router's paths can match; with a dozen routers ahead of the resource handlers that was a measurable
 * share of every request. `forPaths` skips a router unless the path could be one of its own.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export const forPaths =
  (paths: RegExp, router: RequestHandler): RequestHandler =>
  (req: Request, res: Response, next: NextFunction) =>
    paths.test(req.path) ? router(req, res, next) : next();
