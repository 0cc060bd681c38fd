/**
 * discoveryRouter: the GET endpoints clients use to learn what the server serves — discovery (legacy and aggregated)
 * and OpenAPI v2/v3. Documents are built lazily and cached until the registry changes (a CRD added or removed).
 */
import { Router, type Request, type Response, type RequestHandler } from 'express';
import { forPaths } from '../server/route-filter';
import { AGGREGATED_DISCOVERY_TYPE, aggregatedDiscovery, apiGroup, apiGroupList, apiResourceList, apiVersions, coreResourceList } from './discovery';
import { openApiV2, openApiV3Document, openApiV3Index } from './openapi';
import type { SchemaRegistry } from './registry';

type Json = Record<string, unknown>;

/** Does the Accept header ask for aggregated discovery (apidiscovery.k8s.io/v2)? */
export function wantsAggregatedDiscovery(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => {
    const params = part.split(';').map((p) => p.trim());
    return params.includes('g=apidiscovery.k8s.io') && params.includes('v=v2') && params.includes('as=APIGroupDiscoveryList');
  });
}

/** Can the client take JSON? kubectl asks /openapi/v2 for protobuf only; we have no protobuf encoder and answer 406. */
export function acceptsJson(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const type = part.split(';')[0].trim().toLowerCase();
    return type === 'application/json' || type === '*/*' || type === 'application/*';
  });
}

const notAcceptable = (accept: string | undefined): Json => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: `only application/json is served here, not ${JSON.stringify(accept ?? '')}`,
  reason: 'NotAcceptable',
  code: 406,
});

/**
 * GET /api, /api/v1, /apis, /apis/<group>, /apis/<group>/<version>, /openapi/v2, /openapi/v3, /openapi/v3/<path>.
 * Unknown groups/versions fall through with next() so the server's 404 handler answers them.
 */
export function discoveryRouter(registry: SchemaRegistry, options: { serverAddress?: string } = {}): RequestHandler {
  const cache = new Map<string, string>();
  registry.onChange(() => cache.clear());
  const cached = (key: string, build: () => Json | undefined): string | undefined => {
    if (!cache.has(key)) {
      const doc = build();
      if (doc === undefined) return undefined;
      cache.set(key, JSON.stringify(doc));
    }
    return cache.get(key);
  };
  const v3Doc = (gvPath: string): Json | undefined => {
    const body = cached(`v3:${gvPath}`, () => openApiV3Document(registry, gvPath));
    return body === undefined ? undefined : (JSON.parse(body) as Json);
  };
  const send = (res: Response, body: string | undefined, type = 'application/json'): boolean => {
    if (body === undefined) return false;
    // Set verbatim: express would reorder the media-type parameters clients match on.
    res.status(200).setHeader('Content-Type', type);
    res.end(body);
    return true;
  };
  const discovery = (legacy: boolean, plain: () => Json) => (req: Request, res: Response) => {
    if (wantsAggregatedDiscovery(req.get('accept'))) {
      send(res, cached(`aggregated:${legacy}`, () => aggregatedDiscovery(registry, legacy)), AGGREGATED_DISCOVERY_TYPE);
    } else {
      send(res, cached(`plain:${legacy}`, plain));
    }
  };

  const router = Router();
  router.get('/api', discovery(true, () => apiVersions(options.serverAddress)));
  router.get('/apis', discovery(false, () => apiGroupList(registry)));
  router.get('/api/v1', (_req, res) => send(res, cached('core', () => coreResourceList(registry))));
  router.get('/apis/:group', (req, res, next) => {
    if (!send(res, cached(`group:${req.params.group}`, () => apiGroup(registry, req.params.group)))) next();
  });
  router.get('/apis/:group/:version', (req, res, next) => {
    const { group, version } = req.params;
    if (!send(res, cached(`gv:${group}/${version}`, () => apiResourceList(registry, group, version)))) next();
  });
  router.get('/openapi/v2', (req, res) => {
    if (!acceptsJson(req.get('accept'))) {
      res.status(406).json(notAcceptable(req.get('accept')));
      return;
    }
    send(res, cached('v2', () => openApiV2(registry)));
  });
  router.get('/openapi/v3', (_req, res) => send(res, cached('v3', () => openApiV3Index(registry, v3Doc))));
  router.get(/^\/openapi\/v3\/(apis?\/.+)$/, (req, res, next) => {
    const gvPath = (req.params as unknown as string[])[0];
    const body = cached(`v3:${gvPath}`, () => openApiV3Document(registry, gvPath));
    if (body === undefined) {
      next();
      return;
    }
    // A `?hash=` URL names one exact document: clients may cache it forever.
    if (req.query.hash) res.set('Cache-Control', 'public, immutable, max-age=31536000');
    send(res, body);
  });
  // Discovery paths have at most three segments (/apis/<group>/<version>); OpenAPI paths start with /openapi.
  return forPaths(/^\/openapi(\/|$)|^(\/[^/]*){1,3}\/?$/i, router);
}
