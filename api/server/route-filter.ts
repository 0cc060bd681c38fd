/**
 * Express's dispatch is a measurable share of every request: it enters every router a request passes (allocating
 * its dispatch state and testing each route) and runs each layer through its matching machinery. `forPaths` skips
 * a router unless the path could be one of its own; `inSequence` runs a list of middlewares as one layer.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export const forPaths =
  (paths: RegExp, router: RequestHandler): RequestHandler =>
  (req: Request, res: Response, next: NextFunction) =>
    paths.test(req.path) ? router(req, res, next) : next();

/**
 * The middlewares one after another as one express layer (what `app.use` of each would do for middlewares mounted
 * at `/`): `next()` moves on, `next(err)` leaves the sequence with the error, and a throw is passed on as one.
 */
export const inSequence =
  (handlers: readonly RequestHandler[]): RequestHandler =>
  (req: Request, res: Response, next: NextFunction) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if ((err !== undefined && err !== null) || i === handlers.length) return next(err);
      try {
        handlers[i++](req, res, step);
      } catch (thrown) {
        next(thrown);
      }
    };
    step();
  };
