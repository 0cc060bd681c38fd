import type { Attributes } from './types';

/** The parts of an HTTP request that decide its attributes. */
export interface RequestLine {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query?: Readonly<Record<string, unknown>>;
}

const TRUE_VALUES = new Set(['true', 'True', '1']);

/**
 * Parses a Kubernetes-style URL into authorization attributes (k8s.io/apiserver `RequestInfoFactory`):
 * `/api/v1/...` is the core group, `/apis/GROUP/VERSION/...` a named group; then
 * `[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]`. `namespaces/NS` alone addresses the Namespace object itself.
 * A GET without a name is `list`, or `watch` with `?watch=true`; a DELETE without a name is `deletecollection`.
 * Anything else (discovery roots, /openapi, /healthz, /metrics) is a non-resource request with the lower-case method as verb.
 */
export function requestAttributes(req: RequestLine): Attributes {
  const nonResource: Attributes = { verb: req.method.toLowerCase(), isResourceRequest: false, path: req.path };
  const segments = req.path.split('/').filter((s) => s.length > 0).map(decodeSegment);
  let apiGroup: string;
  let apiVersion: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 3) {
    [apiGroup, apiVersion, rest] = ['', segments[1], segments.slice(2)];
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    [apiGroup, apiVersion, rest] = [segments[1], segments[2], segments.slice(3)];
  } else {
    return nonResource;
  }

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    // /api/v1/namespaces/NS is the Namespace object NS, whose "namespace" is itself (as Kubernetes reports it).
    namespace = rest[1];
  }
  const [resource, name, subresource] = rest;
  if (resource === undefined) return nonResource;

  const watchParam = req.query?.watch;
  const isWatch = typeof watchParam === 'string' && TRUE_VALUES.has(watchParam);
  const verb = resourceVerb(req.method, name !== undefined, isWatch);
  const fieldSelector = typeof req.query?.fieldSelector === 'string' ? req.query.fieldSelector : undefined;
  const labelSelector = typeof req.query?.labelSelector === 'string' ? req.query.labelSelector : undefined;
  // As Kubernetes does: a list/watch pinned to one name by `metadata.name=X` is authorized as a request for X,
  // so `resourceNames` rules can grant watching a single object.
  const pinnedName = verb === 'list' || verb === 'watch' ? fieldSelectorValue(fieldSelector, 'metadata.name') : undefined;
  return {
    verb,
    isResourceRequest: true,
    apiGroup,
    apiVersion,
    resource,
    subresource,
    namespace,
    name: name ?? pinnedName,
    path: req.path,
    fieldSelector,
    labelSelector,
  };
}

function resourceVerb(method: string, hasName: boolean, isWatch: boolean): string {
  switch (method.toUpperCase()) {
    case 'GET':
    case 'HEAD':
      if (isWatch) return 'watch';
      return hasName ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return hasName ? 'delete' : 'deletecollection';
    default:
      return method.toLowerCase();
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Whether `labelSelector` only matches objects that carry label `key`: it has a term `key`, `key=V`, `key==V` or
 * `key in (...)` (terms are ANDed, so others only narrow it). `!key`, `key!=V` and `key notin (...)` also match
 * objects without the label, so they do not count.
 */
export function labelSelectorRequires(labelSelector: string | undefined, key: string): boolean {
  const k = key.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`(^|,)\\s*${k}\\s*(,|$|==?|\\s+in\\s*\\()`).test(labelSelector ?? '');
}

/** Reads `spec.nodeName=X` (or `==`) out of a field selector; undefined if it is not pinned to one node. */
export function fieldSelectorValue(fieldSelector: string | undefined, field: string): string | undefined {
  for (const term of (fieldSelector ?? '').split(',')) {
    const match = /^\s*([^!=\s]+)\s*==?\s*(.*?)\s*$/.exec(term);
    if (match && match[1] === field) return match[2];
  }
  return undefined;
}
