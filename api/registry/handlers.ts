/**
 * HTTP for every resource: /api/v1/... and /apis/<group>/<version>/..., [namespaces/<ns>/]<plural>[/<name>[/<sub>]].
 * Parses the request (path, query, body), calls ResourceRest / delete / watch, and writes the response.
 */
import { Router, type Request, type Response } from 'express';
import { buildTable, type FieldValidation, type ResourceInfo, type SchemaRegistry } from '../schema';
import type { StoredObject } from '../storage';
import { ApiError, badRequest, methodNotAllowed, notFound } from '../server/errors';
import { readBody, readRawBody, decodeBody, mediaType } from '../server/body';
import { deleteCollection, deleteObject, parseDeleteOptions } from './delete';
import { PATCH_TYPES, ResourceRest, applyPatchDocument, type ListQuery, type PatchOptions } from './rest';
import { fromScale, toScale } from './scale';
import { selectionPredicate } from './selectors';
import { serveWatch } from './watch';

export interface ResourceTarget {
  readonly info: ResourceInfo;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
}

/** Resolves a path below /api or /apis, or undefined if it names no served resource. */
export const resolveTarget = (schemas: SchemaRegistry, path: string): ResourceTarget | undefined => {
  let segs: string[];
  try {
    segs = path.split('/').filter((s) => s !== '').map(decodeURIComponent);
  } catch (err) {
    throw badRequest(`malformed path ${JSON.stringify(path)}: ${(err as Error).message}`, { cause: err });
  }
  let group: string;
  let version: string;
  let rest: string[];
  if (segs[0] === 'api' && segs.length >= 3) [group, version, rest] = ['', segs[1], segs.slice(2)];
  else if (segs[0] === 'apis' && segs.length >= 4) [group, version, rest] = [segs[1], segs[2], segs.slice(3)];
  else return undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = schemas.resolve(group, version, rest[2]);
    if (info?.namespaced && rest.length <= 5) return { info, namespace: rest[1], name: rest[3], subresource: rest[4] };
  }
  const info = schemas.resolve(group, version, rest[0]);
  if (!info || rest.length > 3) return undefined;
  return { info, name: rest[1], subresource: rest[2] };
};

const queryString = (req: Request, name: string): string | undefined => {
  const v = req.query[name];
  if (Array.isArray(v)) return typeof v[0] === 'string' ? v[0] : undefined;
  return typeof v === 'string' ? v : undefined;
};

/** Query booleans as Kubernetes parses them: `true`, `True`, `1` (and `TRUE`, `t`, ...). */
export const queryBool = (req: Request, name: string): boolean => {
  const v = queryString(req, name);
  return v !== undefined && ['1', 't', 'T', 'true', 'True', 'TRUE'].includes(v);
};

const queryInt = (req: Request, name: string): number | undefined => {
  const v = queryString(req, name);
  if (v === undefined || v === '') return undefined;
  if (!/^[0-9]+$/.test(v)) throw badRequest(`${name}: invalid value "${v}": must be a non-negative integer`);
  return Number(v);
};

const parseDryRun = (req: Request): boolean => {
  const v = req.query.dryRun;
  if (v === undefined) return false;
  const values = (Array.isArray(v) ? v : [v]).map(String);
  for (const value of values) if (value !== 'All') throw badRequest(`dryRun: Unsupported value: "${value}": supported values: "All"`);
  return true;
};

const parseFieldValidation = (req: Request): FieldValidation => {
  const v = queryString(req, 'fieldValidation');
  if (v === undefined || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation: Unsupported value: "${v}": supported values: "Ignore", "Strict", "Warn"`);
};

/** Kubernetes names the manager after the user agent's program when the client does not. */
const fieldManagerOf = (req: Request): string => {
  const explicit = queryString(req, 'fieldManager');
  if (explicit) {
    if (explicit.length > 128) throw badRequest('fieldManager: Too long: must have at most 128 bytes');
    return explicit;
  }
  return (req.headers['user-agent'] ?? 'unknown').split('/')[0].slice(0, 128) || 'unknown';
};

const wantsTable = (req: Request): boolean => /as=Table/.test(req.headers.accept ?? '');

/** JSON out without express's res.json/res.send machinery (no ETag, no charset juggling): on the hot path of every verb. */
const sendJson = (res: Response, status: number, body: unknown): void => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
};

const sendWarnings = (res: Response, warnings: string[]): void => {
  if (warnings.length > 0) res.setHeader('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
};

export interface HandlerHooks {
  /** Last word on a write's resulting object, with the request (its caller). */
  readonly admission?: (req: Request, info: ResourceInfo, verb: 'create' | 'update', obj: StoredObject) => Promise<void>;
  readonly onWatchOpen?: (resource: string) => void;
  readonly onWatchClose?: (resource: string) => void;
}

export const resourceRouter = (rest: ResourceRest, schemas: SchemaRegistry, hooks: HandlerHooks = {}): Router => {
  const router = Router();

  const listQuery = (req: Request): ListQuery => ({
    labelSelector: queryString(req, 'labelSelector'),
    fieldSelector: queryString(req, 'fieldSelector'),
    limit: queryInt(req, 'limit'),
    continue: queryString(req, 'continue'),
  });

  const tableOf = (req: Request, info: ResourceInfo, objects: StoredObject[]): unknown =>
    buildTable(info, objects, { includeObject: queryString(req, 'includeObject') === 'Object' ? 'Object' : 'Metadata' });

  const handle = async (req: Request, res: Response, t: ResourceTarget): Promise<void> => {
    const { info, namespace, name, subresource } = t;
    res.locals.resource = info.plural;
    if (subresource && !((subresource === 'status' && info.subresources.status) || (subresource === 'scale' && info.subresources.scale)))
      throw notFound({ group: info.group, plural: `${info.plural}/${subresource}`, name });
    const method = req.method;
    if (!name) {
      if (method === 'GET' && queryBool(req, 'watch')) return watch(req, res, t);
      if (method === 'GET') return list(req, res, t);
      if (method === 'POST') return create(req, res, t);
      if (method === 'DELETE') return removeCollection(req, res, t);
      throw methodNotAllowed(`the server does not allow this method on the requested resource`);
    }
    if (method === 'GET' && queryBool(req, 'watch')) return watch(req, res, t);
    if (method === 'GET') {
      res.locals.verb = 'get';
      const obj = await rest.get(info, namespace, name);
      if (subresource === 'scale' && info.subresources.scale) return sendJson(res, 200, toScale(info.subresources.scale, obj));
      return sendJson(res, 200, wantsTable(req) ? tableOf(req, info, [obj]) : obj);
    }
    if (method === 'PUT') return update(req, res, t, name);
    if (method === 'PATCH') return patch(req, res, t, name);
    if (method === 'DELETE') return remove(req, res, t, name);
    throw methodNotAllowed(`the server does not allow this method on the requested resource`);
  };

  const writeOptions = (req: Request, info: ResourceInfo, verb: 'create' | 'update'): PatchOptions => ({
    admit: hooks.admission ? (obj) => hooks.admission!(req, info, verb, obj) : undefined,
    dryRun: parseDryRun(req),
    fieldValidation: parseFieldValidation(req),
    fieldManager: fieldManagerOf(req),
    force: queryBool(req, 'force'),
  });

  const list = async (req: Request, res: Response, t: ResourceTarget): Promise<void> => {
    res.locals.verb = 'list';
    const body = await rest.list(t.info, t.namespace, listQuery(req));
    if (wantsTable(req)) {
      const table = tableOf(req, t.info, body.items) as { metadata?: Record<string, unknown> };
      table.metadata = { ...table.metadata, ...body.metadata };
      return sendJson(res, 200, table);
    }
    sendJson(res, 200, body);
  };

  const watch = async (req: Request, res: Response, t: ResourceTarget): Promise<void> => {
    res.locals.verb = 'watch';
    const q = listQuery(req);
    const table = wantsTable(req);
    await serveWatch(rest.storage, req, res, {
      info: t.info,
      namespace: t.namespace,
      name: t.name,
      predicate: selectionPredicate(q.labelSelector, q.fieldSelector),
      resourceVersion: queryString(req, 'resourceVersion'),
      allowBookmarks: queryBool(req, 'allowWatchBookmarks'),
      sendInitialEvents: req.query.sendInitialEvents === undefined ? undefined : queryBool(req, 'sendInitialEvents'),
      timeoutSeconds: queryInt(req, 'timeoutSeconds'),
      render: table ? (obj) => tableOf(req, t.info, [obj]) : undefined,
    }, {
      onOpen: () => hooks.onWatchOpen?.(t.info.plural),
      onClose: () => hooks.onWatchClose?.(t.info.plural),
    });
  };

  const create = async (req: Request, res: Response, t: ResourceTarget): Promise<void> => {
    res.locals.verb = 'create';
    const opts = writeOptions(req, t.info, 'create');
    const result = await rest.create(t.info, t.namespace, await readBody(req), opts);
    sendWarnings(res, result.warnings);
    sendJson(res, 201, result.object);
  };

  const update = async (req: Request, res: Response, t: ResourceTarget, name: string): Promise<void> => {
    res.locals.verb = 'update';
    const opts = writeOptions(req, t.info, 'update');
    const body = await readBody(req);
    const scale = t.subresource === 'scale' ? t.info.subresources.scale : undefined;
    const result = scale
      ? await rest.write(t.info, t.namespace, name, opts, undefined, (cur) => fromScale(t.info, scale, cur, body))
      : await rest.update(t.info, t.namespace, name, body, opts, t.subresource);
    sendWarnings(res, result.warnings);
    sendJson(res, result.created ? 201 : 200, scale ? toScale(scale, result.object) : result.object);
  };

  const patch = async (req: Request, res: Response, t: ResourceTarget, name: string): Promise<void> => {
    res.locals.verb = 'patch';
    const opts = writeOptions(req, t.info, 'update');
    const patchType = mediaType(req.headers['content-type']);
    if (!Object.values(PATCH_TYPES).includes(patchType as never))
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${Object.values(PATCH_TYPES).join(', ')}`);
    const body = decodeBody(await readRawBody(req), patchType);
    const scale = t.subresource === 'scale' ? t.info.subresources.scale : undefined;
    const result = scale
      ? await rest.write(t.info, t.namespace, name, opts, undefined, (cur) => fromScale(t.info, scale, cur, applyPatchDocument(patchType, toScale(scale, cur), body)))
      : await rest.patch(t.info, t.namespace, name, patchType, body, opts, t.subresource);
    sendWarnings(res, result.warnings);
    sendJson(res, result.created ? 201 : 200, scale ? toScale(scale, result.object) : result.object);
  };

  const remove = async (req: Request, res: Response, t: ResourceTarget, name: string): Promise<void> => {
    res.locals.verb = 'delete';
    const opts = parseDeleteOptions(await readBody(req), { propagationPolicy: queryString(req, 'propagationPolicy'), dryRun: parseDryRun(req) });
    const result = await deleteObject(rest, t.info, t.namespace, name, opts);
    sendJson(res, result.deleted ? 200 : 202, result.object);
  };

  const removeCollection = async (req: Request, res: Response, t: ResourceTarget): Promise<void> => {
    res.locals.verb = 'deletecollection';
    const opts = parseDeleteOptions(await readBody(req), { propagationPolicy: queryString(req, 'propagationPolicy'), dryRun: parseDryRun(req) });
    const items = await deleteCollection(rest, t.info, t.namespace, listQuery(req), opts);
    sendJson(res, 200, { apiVersion: t.info.apiVersion, kind: t.info.listKind, metadata: {}, items });
  };

  router.use((req, res, next) => {
    let target: ResourceTarget | undefined;
    try {
      target = resolveTarget(schemas, req.path);
    } catch (err) {
      return next(err);
    }
    if (!target) return next();
    handle(req, res, target).catch(next);
  });
  return router;
};
