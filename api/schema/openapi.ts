/**
 * OpenAPI documents built from the registry: `/openapi/v2` (Swagger 2.0, every group) and `/openapi/v3/<api|apis>/...`
 * (OpenAPI 3.0, one document per group/version, listed by `/openapi/v3`). Definitions are named as Kubernetes names
 * them (`dev.berth.v1.Container`, `io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`) and carry
 * `x-kubernetes-group-version-kind`, so `kubectl explain` finds them; every PATCH operation lists the
 * `fieldValidation` query parameter, which is how kubectl decides the server validates fields (see NOTES.md).
 */
import { createHash } from 'node:crypto';
import { INT_OR_STRING, META, SCALE_DEFINITION, metaDefinitions, type RefOf } from './openapi-meta';
import type { SchemaRegistry } from './registry';
import type { JSONSchemaProps, ResourceInfo } from './types';

type Json = Record<string, unknown>;

/** The Kubernetes version we describe ourselves as in OpenAPI `info`. */
const INFO = { title: 'Berth', version: 'v1.32.0' };

/**
 * `berth.dev` → `dev.berth`; Kubernetes' own groups keep their upstream names (core → `io.k8s.api.core`,
 * `rbac.authorization.k8s.io` → `io.k8s.api.rbac`, apiextensions → its apiserver package).
 */
function definitionPrefix(group: string): string {
  if (group === '') return 'io.k8s.api.core';
  if (group === 'apiextensions.k8s.io') return 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions';
  if (group.endsWith('.k8s.io')) return `io.k8s.api.${group.split('.')[0]}`;
  return group.split('.').reverse().join('.');
}

export function definitionName(group: string, version: string, kind: string): string {
  return `${definitionPrefix(group)}.${version}.${kind}`;
}

/** The URL path (without leading slash) of a group/version: `api/v1`, `apis/berth.dev/v1`. */
export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

const gvk = (group: string, version: string, kind: string) => [{ group, version, kind }];

/** Swagger 2.0 has no anyOf/oneOf/allOf/not/nullable; Kubernetes drops them from CRD schemas it publishes in v2. */
function toV2(node: JSONSchemaProps): JSONSchemaProps {
  const { anyOf: _a, oneOf: _o, allOf: _l, not: _n, nullable: _u, ...rest } = node;
  const out: JSONSchemaProps = { ...rest };
  if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, toV2(v)]));
  if (node.items) out.items = toV2(node.items);
  if (typeof node.additionalProperties === 'object') out.additionalProperties = toV2(node.additionalProperties);
  return out;
}

/** int-or-string nodes are published as a reference to IntOrString (as Kubernetes does), so `kubectl explain` names their type. */
function forPublishing(node: JSONSchemaProps, ref: RefOf): JSONSchemaProps {
  if (node['x-kubernetes-int-or-string']) {
    return { description: node.description, allOf: [{ $ref: ref(INT_OR_STRING) } as JSONSchemaProps] };
  }
  const out: JSONSchemaProps = { ...node };
  if (node.properties) out.properties = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, forPublishing(v, ref)]));
  if (node.items) out.items = forPublishing(node.items, ref);
  if (typeof node.additionalProperties === 'object') out.additionalProperties = forPublishing(node.additionalProperties, ref);
  return out;
}

function kindDefinitions(info: ResourceInfo, schema: JSONSchemaProps, ref: RefOf, v2: boolean): Record<string, JSONSchemaProps> {
  const name = definitionName(info.group, info.version, info.kind);
  const body = v2 ? toV2(schema) : forPublishing(schema, ref);
  const typeMeta = {
    apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
    kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
  } as const;
  return {
    [name]: {
      ...body,
      type: 'object',
      properties: {
        ...typeMeta,
        metadata: { $ref: ref(`${META}.ObjectMeta`), description: 'Standard object\'s metadata.' } as JSONSchemaProps,
        ...Object.fromEntries(Object.entries(body.properties ?? {}).filter(([k]) => !['apiVersion', 'kind', 'metadata'].includes(k))),
      },
      'x-kubernetes-group-version-kind': gvk(info.group, info.version, info.kind),
    },
    [definitionName(info.group, info.version, info.listKind)]: {
      type: 'object',
      description: `${info.listKind} is a list of ${info.kind}`,
      required: ['items'],
      properties: {
        ...typeMeta,
        items: { type: 'array', description: `List of ${info.plural}.`, items: { $ref: ref(name) } as JSONSchemaProps },
        metadata: { $ref: ref(`${META}.ListMeta`), description: 'Standard list metadata.' } as JSONSchemaProps,
      },
      'x-kubernetes-group-version-kind': gvk(info.group, info.version, info.listKind),
    },
  };
}

/** How parameters, bodies and responses are written differs between Swagger 2.0 and OpenAPI 3.0. */
interface Dialect {
  ref: RefOf;
  query(name: string, type: 'string' | 'boolean' | 'integer', description: string): Json;
  path(name: string, description: string): Json;
  /** Adds the request body for `definition` (accepted as `mediaTypes`) to an operation. */
  withBody(op: Json, definition: string, mediaTypes: string[]): Json;
  responses(definition: string, codes: number[]): Json;
}

const JSON_TYPES = ['application/json', 'application/yaml'];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];

const v2Dialect: Dialect = {
  ref: (name) => `#/definitions/${name}`,
  query: (name, type, description) => ({ name, in: 'query', type, uniqueItems: true, description }),
  path: (name, description) => ({ name, in: 'path', required: true, type: 'string', uniqueItems: true, description }),
  withBody: (op, definition, mediaTypes) => ({
    ...op,
    consumes: mediaTypes,
    parameters: [...((op.parameters as Json[]) ?? []), { name: 'body', in: 'body', required: true, schema: { $ref: `#/definitions/${definition}` } }],
  }),
  responses: (definition, codes) =>
    Object.fromEntries([...codes.map((c) => [String(c), { description: 'OK', schema: { $ref: `#/definitions/${definition}` } }]), ['401', { description: 'Unauthorized' }]]),
};

const v3Dialect: Dialect = {
  ref: (name) => `#/components/schemas/${name}`,
  query: (name, type, description) => ({ name, in: 'query', description, schema: { type, uniqueItems: true } }),
  path: (name, description) => ({ name, in: 'path', required: true, description, schema: { type: 'string', uniqueItems: true } }),
  withBody: (op, definition, mediaTypes) => ({
    ...op,
    requestBody: { required: true, content: Object.fromEntries(mediaTypes.map((t) => [t, { schema: { $ref: `#/components/schemas/${definition}` } }])) },
  }),
  responses: (definition, codes) =>
    Object.fromEntries([
      ...codes.map((c) => [String(c), { description: 'OK', content: Object.fromEntries(JSON_TYPES.map((t) => [t, { schema: { $ref: `#/components/schemas/${definition}` } }])) }]),
      ['401', { description: 'Unauthorized' }],
    ]),
};

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** `BerthDevV1`, `CoreV1`, `RbacAuthorizationV1`: the group/version part of operation ids and tags. */
function groupVersionCamel(info: ResourceInfo): string {
  const group = info.group === '' ? 'Core' : info.group.replace(/\.k8s\.io$/, '').split(/[.-]/).map(cap).join('');
  return `${group}${cap(info.version)}`;
}

/** `listBerthDevV1NamespacedContainer`-style operation ids, as Kubernetes builds them. */
function operationId(verb: string, info: ResourceInfo, scope: 'Namespaced' | '' | 'ForAllNamespaces', suffix = ''): string {
  const ns = scope === 'Namespaced' ? 'Namespaced' : '';
  return `${verb}${groupVersionCamel(info)}${ns}${info.kind}${suffix}${scope === 'ForAllNamespaces' ? 'ForAllNamespaces' : ''}`;
}

function resourcePaths(info: ResourceInfo, d: Dialect): Record<string, Json> {
  const kindDef = definitionName(info.group, info.version, info.kind);
  const listDef = definitionName(info.group, info.version, info.listKind);
  const base = `/${groupVersionPath(info.group, info.version)}`;
  const scope = info.namespaced ? 'Namespaced' : '';
  const collection = info.namespaced ? `${base}/namespaces/{namespace}/${info.plural}` : `${base}/${info.plural}`;
  const tags = [groupVersionCamel(info)];
  const scopeParams = [
    ...(info.namespaced ? [d.path('namespace', 'object name and auth scope, such as for teams and projects')] : []),
    d.query('pretty', 'string', "If 'true', then the output is pretty printed."),
  ];
  const itemParams = [d.path('name', `name of the ${info.kind}`), ...scopeParams];
  const writeParams = [
    d.query('dryRun', 'string', 'When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed'),
    d.query('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
    d.query('fieldValidation', 'string', 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn, Strict.'),
  ];
  const listParams = [
    d.query('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK".'),
    d.query('continue', 'string', 'The continue option should be set when retrieving more results from the server.'),
    d.query('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
    d.query('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
    d.query('limit', 'integer', 'limit is a maximum number of responses to return for a list call.'),
    d.query('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
    d.query('timeoutSeconds', 'integer', 'Timeout for the list/watch call.'),
    d.query('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.'),
  ];
  const deleteParams = [
    d.query('dryRun', 'string', 'When present, indicates that modifications should not be persisted.'),
    d.query('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted.'),
    d.query('propagationPolicy', 'string', "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'."),
  ];
  const op = (verb: string, action: string, def: string, opGvk: ReturnType<typeof gvk>, params: Json[], codes: number[], suffix = '', opScope: 'Namespaced' | '' | 'ForAllNamespaces' = scope) => ({
    description: `${verb} ${suffix ? `${suffix.toLowerCase()} of ` : ''}the specified ${info.kind}`,
    operationId: operationId(verb, info, opScope, suffix),
    tags,
    parameters: params,
    responses: d.responses(def, codes),
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': opGvk[0],
  });
  const self = gvk(info.group, info.version, info.kind);
  const writeOps = (def: string, opGvk: ReturnType<typeof gvk>, suffix = '') => ({
    get: op('read', 'get', def, opGvk, [], [200], suffix),
    put: d.withBody(op('replace', 'put', def, opGvk, writeParams, [200, 201], suffix), def, JSON_TYPES),
    patch: d.withBody(op('patch', 'patch', def, opGvk, [...writeParams, d.query('force', 'boolean', 'Force is going to "force" Apply requests.')], [200, 201], suffix), `${META}.Patch`, PATCH_TYPES),
  });
  const paths: Record<string, Json> = {
    [collection]: {
      get: op('list', 'list', listDef, self, listParams, [200]),
      post: d.withBody(op('create', 'post', kindDef, self, writeParams, [200, 201, 202]), kindDef, JSON_TYPES),
      delete: op('deletecollection', 'deletecollection', `${META}.Status`, self, [...listParams, ...deleteParams], [200]),
      parameters: scopeParams,
    },
    [`${collection}/{name}`]: {
      ...writeOps(kindDef, self),
      delete: d.withBody(op('delete', 'delete', `${META}.Status`, self, deleteParams, [200, 202]), `${META}.DeleteOptions`, JSON_TYPES),
      parameters: itemParams,
    },
  };
  if (info.namespaced) {
    paths[`${base}/${info.plural}`] = {
      get: op('list', 'list', listDef, self, listParams, [200], '', 'ForAllNamespaces'),
      parameters: [d.query('pretty', 'string', "If 'true', then the output is pretty printed.")],
    };
  }
  if (info.subresources.status) paths[`${collection}/{name}/status`] = { ...writeOps(kindDef, self, 'Status'), parameters: itemParams };
  if (info.subresources.scale) {
    paths[`${collection}/{name}/scale`] = { ...writeOps(SCALE_DEFINITION, gvk('autoscaling', 'v1', 'Scale'), 'Scale'), parameters: itemParams };
  }
  return paths;
}

function documentParts(registry: SchemaRegistry, infos: ResourceInfo[], d: Dialect, v2: boolean): { paths: Json; definitions: Record<string, JSONSchemaProps> } {
  const paths: Json = {};
  const definitions: Record<string, JSONSchemaProps> = { ...metaDefinitions(d.ref) };
  for (const info of infos) {
    Object.assign(paths, resourcePaths(info, d));
    Object.assign(definitions, kindDefinitions(info, registry.schemaOf(info), d.ref, v2));
  }
  return { paths, definitions };
}

/** GET /openapi/v2 (JSON): every served resource in one Swagger 2.0 document. */
export function openApiV2(registry: SchemaRegistry): Json {
  const { paths, definitions } = documentParts(registry, registry.resources(), v2Dialect, true);
  return {
    swagger: '2.0',
    info: INFO,
    paths,
    definitions,
    securityDefinitions: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer Token authentication' } },
    security: [{ BearerToken: [] }],
  };
}

/** GET /openapi/v3/<gvPath> (`api/v1`, `apis/berth.dev/v1`): one group/version, or undefined (404). */
export function openApiV3Document(registry: SchemaRegistry, gvPath: string): Json | undefined {
  const infos = registry.resources().filter((r) => groupVersionPath(r.group, r.version) === gvPath);
  if (infos.length === 0) return undefined;
  const { paths, definitions } = documentParts(registry, infos, v3Dialect, false);
  return {
    openapi: '3.0.0',
    info: INFO,
    paths,
    components: {
      schemas: definitions,
      securitySchemes: { BearerToken: { type: 'apiKey', name: 'authorization', in: 'header', description: 'Bearer Token authentication' } },
    },
  };
}

/** Content hash of a document, as `?hash=` in the v3 index: clients cache a group/version document until it changes. */
export function documentHash(doc: unknown): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/** GET /openapi/v3: `{paths: {"apis/berth.dev/v1": {serverRelativeURL: "/openapi/v3/apis/berth.dev/v1?hash=..."}}}`. */
export function openApiV3Index(registry: SchemaRegistry, documentFor: (gvPath: string) => Json | undefined = (p) => openApiV3Document(registry, p)): Json {
  const gvPaths = [...new Set(registry.resources().map((r) => groupVersionPath(r.group, r.version)))];
  return {
    paths: Object.fromEntries(
      gvPaths.map((p) => [p, { serverRelativeURL: `/openapi/v3/${p}?hash=${documentHash(documentFor(p))}` }]),
    ),
  };
}
