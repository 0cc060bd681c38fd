/**
 * ObjectMeta semantics the server owns: identity (uid, name from generateName, namespace from the URL),
 * timestamps, `generation` (bumped only when something other than metadata and status changes), and which parts of
 * an incoming object a write may change (main resource vs `/status`).
 */
import { randomInt, randomUUID } from 'node:crypto';
import type { ResourceInfo } from '../schema';
import type { StoredObject } from '../storage';
import { badRequest, invalid } from '../server/errors';
import { jsonEqual } from './patch/field-set';

export type Meta = StoredObject['metadata'] & {
  generateName?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
};

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export const metaOf = (obj: StoredObject): Meta => obj.metadata as Meta;

let stampedSecond = NaN;
let stamp = '';

/** RFC 3339 with second precision, as Kubernetes serialises metav1.Time (formatted once a second: every write asks). */
export const nowTimestamp = (): string => {
  const second = Math.floor(Date.now() / 1000);
  if (second !== stampedSecond) {
    stampedSecond = second;
    stamp = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
  }
  return stamp;
};

/** Kubernetes' generateName alphabet: no vowels (no words), no confusable characters. */
const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const randomSuffix = (): string => Array.from({ length: 5 }, () => SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)]).join('');

/** The body must be the endpoint's kind (or say nothing: the endpoint says what it is). */
export const checkTypeMeta = (info: ResourceInfo, obj: StoredObject): void => {
  if (obj.apiVersion !== undefined && obj.apiVersion !== info.apiVersion)
    throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${info.apiVersion})`);
  if (obj.kind !== undefined && obj.kind !== info.kind)
    throw badRequest(`the kind in the data (${String(obj.kind)}) does not match the expected kind (${info.kind})`);
  obj.apiVersion = info.apiVersion;
  obj.kind = info.kind;
};

/** The namespace the object lives in: the URL's, which the body may repeat but not contradict. */
const settleNamespace = (info: ResourceInfo, meta: Meta, namespace: string | undefined): void => {
  if (!info.namespaced) {
    delete meta.namespace;
    return;
  }
  if (meta.namespace && namespace && meta.namespace !== namespace)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  meta.namespace = namespace ?? meta.namespace;
};

/** Shapes a new object in place. Call before schema admission so names are checked. */
export const prepareForCreate = (info: ResourceInfo, obj: StoredObject, namespace: string | undefined): void => {
  checkTypeMeta(info, obj);
  if (obj.metadata === null || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) obj.metadata = {};
  const meta = metaOf(obj);
  settleNamespace(info, meta, namespace);
  if (!meta.name && typeof meta.generateName === 'string' && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
  if (!meta.name)
    throw invalid(info, undefined, [
      { field: 'metadata.name', reason: 'FieldValueRequired', message: 'metadata.name: Required value: name or generateName is required' },
    ]);
  meta.uid = randomUUID();
  meta.creationTimestamp = nowTimestamp();
  meta.generation = 1;
  delete meta.resourceVersion;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  if (info.subresources.status) delete obj.status;
};

const IDENTITY_FIELDS = ['name', 'namespace', 'uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const;

/** Everything but metadata and status: what `generation` tracks. */
const specOf = (obj: StoredObject): Record<string, unknown> => {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
};

/**
 * The object a write of `next` over `prev` stores. `subresource` 'status' takes only `.status` from `next`;
 * the main resource ignores `.status` when the status subresource is on. Identity always comes from `prev`.
 */
export const prepareForUpdate = (info: ResourceInfo, next: StoredObject, prev: StoredObject, subresource?: string): StoredObject => {
  checkTypeMeta(info, next);
  if (next.metadata === null || typeof next.metadata !== 'object' || Array.isArray(next.metadata)) next.metadata = {};
  let result: StoredObject;
  if (subresource === 'status') {
    result = { ...structuredClone(prev), status: next.status };
    if (next.status === undefined) delete result.status;
    metaOf(result).managedFields = metaOf(next).managedFields ?? metaOf(prev).managedFields;
  } else {
    result = next;
    if (info.subresources.status) {
      if (prev.status === undefined) delete result.status;
      else result.status = prev.status;
    }
  }
  const meta = metaOf(result);
  const prevMeta = metaOf(prev);
  for (const field of IDENTITY_FIELDS) {
    if (prevMeta[field] === undefined) delete meta[field];
    else (meta as Record<string, unknown>)[field] = prevMeta[field];
  }
  if (!jsonEqual(specOf(result), specOf(prev))) meta.generation = (prevMeta.generation ?? 0) + 1;
  return result;
};
