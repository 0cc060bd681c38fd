/**
 * createApp(deps): the express application of the API server, without listening (start.ts listens).
 * Order: metrics → audit → authentication → authorization → health/version → discovery/OpenAPI → resources → 404.
 */
import express, { type Express, type Request, type RequestHandler } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { discoveryRouter, type ResourceInfo, type SchemaRegistry } from '../schema';
import type { Storage, StoredObject } from '../storage';
import type { NamespaceLookup } from '../registry/namespaces';
import { ResourceRest } from '../registry/rest';
import { resourceRouter } from '../registry/handlers';
import { adaptForHttp2 } from './http2-compat';
import { ApiMetrics } from './metrics';
import { nodeProxyRouter } from './node-proxy';
import { inSequence } from './route-filter';
import { notFoundHandler, statusErrorHandler } from './status-middleware';

export type Admission = (req: Request, info: ResourceInfo, verb: 'create' | 'update', obj: StoredObject) => Promise<void>;

export interface AppDeps {
  readonly storage: Storage;
  readonly schemas: SchemaRegistry;
  readonly metrics?: ApiMetrics;
  /** Middlewares run before any route (audit, authentication, authorization), in order. */
  readonly guards?: readonly RequestHandler[];
  /** Known namespaces, kept from a watch (see api/registry/namespaces.ts). */
  readonly namespaces?: NamespaceLookup;
  /** Checks a write's resulting object with the caller's identity (throw an ApiError to refuse). */
  readonly admission?: Admission;
  /** False until the server can serve (storage open, built-ins loaded): /readyz answers 503 meanwhile. */
  readonly isReady?: () => boolean;
}

export interface ApiApp {
  /** Serves HTTP/1.1 requests. */
  readonly app: Express;
  /** The same routes for HTTP/2 (compat API) requests. */
  readonly http2App: Express;
  /** A request listener for a server speaking both (http2.createSecureServer with allowHTTP1). */
  readonly handler: (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;
  readonly rest: ResourceRest;
  readonly metrics: ApiMetrics;
}

/** Reported by /version; kubectl compares it with its own and warns on a large skew. */
export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-berth.0.1.0',
  gitCommit: '',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: `node${process.versions.node}`,
  compiler: 'tsc',
  platform: `${process.platform}/${process.arch}`,
};

export const createApp = (deps: AppDeps): ApiApp => {
  const metrics = deps.metrics ?? new ApiMetrics();
  const storage = metrics.instrument(deps.storage);
  const rest = new ResourceRest({ storage, schemas: deps.schemas, namespaces: deps.namespaces });
  const app = buildRoutes(express(), deps, storage, rest, metrics);
  const http2App = buildRoutes(adaptForHttp2(express()), deps, storage, rest, metrics);
  const handler: ApiApp['handler'] = (req, res) => {
    if (req.httpVersionMajor === 2) http2App(req as never, res as never);
    else app(req as never, res as never);
  };
  return { app, http2App, handler, rest, metrics };
};

const buildRoutes = (app: Express, deps: AppDeps, storage: Storage, rest: ResourceRest, metrics: ApiMetrics): Express => {
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', 'simple');
  app.use(metrics.middleware());
  if (deps.guards) app.use(inSequence(deps.guards));

  const health: RequestHandler = (_req, res) => {
    res.type('text/plain').send('ok');
  };
  app.get(['/healthz', '/livez'], health);
  app.get('/readyz', (_req, res, next) => {
    if (deps.isReady && !deps.isReady()) return void res.status(503).type('text/plain').send('not ready');
    storage.currentRevision().then(() => res.type('text/plain').send('ok'), next);
  });
  app.get('/version', (_req, res) => res.json(VERSION_INFO));
  app.get('/metrics', (_req, res, next) => {
    metrics.registry.metrics().then((text) => res.type(metrics.registry.contentType).send(text), next);
  });

  app.use(discoveryRouter(deps.schemas));
  app.use(nodeProxyRouter(storage));
  app.use(resourceRouter(rest, deps.schemas, {
    admission: deps.admission,
    onWatchOpen: (resource) => metrics.watches.inc({ resource }),
    onWatchClose: (resource) => metrics.watches.dec({ resource }),
  }));
  app.use(notFoundHandler);
  app.use(statusErrorHandler);
  return app;
};
