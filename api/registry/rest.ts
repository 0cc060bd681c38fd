/**
 * The generic REST semantics of every resource the SchemaRegistry serves, independent of HTTP:
 * create / get / list / update / patch (merge, JSON, apply) with admission, metadata rules, managed fields,
 * dryRun and fieldValidation. Deletion lives in delete.ts; HTTP in handlers.ts.
 */
import type { FieldValidation, ResourceInfo, SchemaRegistry } from '../schema';
import { strictDecodingMessage, unknownFieldWarnings } from '../schema';
import type { Storage, StoredObject } from '../storage';
import { ApiError, OBJECT_MODIFIED, alreadyExists, badRequest, conflict, forbidden, invalid, unsupportedMediaType } from '../server/errors';
import { isNamespaceResource } from './delete';
import { hooksFor, type ResourceHooks } from './hooks';
import { keyFor, namespaceKey, prefixFor } from './keys';
import { metaOf, prepareForCreate, prepareForUpdate } from './metadata';
import type { NamespaceLookup } from './namespaces';
import { ApplyConflictError, serverSideApply } from './patch/apply';
import { FieldSet, changedFields, jsonEqual } from './patch/field-set';
import { PatchError, applyJsonPatch } from './patch/json-patch';
import { recordUpdate } from './patch/managed-fields';
import { applyMergePatch } from './patch/merge-patch';
import { selectionPredicate } from './selectors';
import { mapStorage } from './storage-errors';

export interface RestDeps {
  readonly storage: Storage;
  readonly schemas: SchemaRegistry;
  /** Known namespaces (saves a storage read per create); without it every create reads its namespace. */
  readonly namespaces?: NamespaceLookup;
}

export interface WriteOptions {
  /** Called with the object about to be stored (after admission); throw to refuse the write. */
  readonly admit?: (obj: StoredObject) => Promise<void>;
  readonly dryRun: boolean;
  readonly fieldValidation: FieldValidation;
  readonly fieldManager: string;
}

export interface PatchOptions extends WriteOptions {
  readonly force: boolean;
}

export interface WriteResult {
  readonly object: StoredObject;
  readonly warnings: string[];
  /** True when the write created the object (201). */
  readonly created: boolean;
}

export interface ListQuery {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
}

export interface ListBody {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: StoredObject[];
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const subjectOf = (info: ResourceInfo, name?: string) => ({ group: info.group, plural: info.plural, name });

const asObject = (body: unknown, what: string): StoredObject => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`${what} must be a JSON/YAML object`);
  return body as StoredObject;
};

export class ResourceRest {
  private readonly hooks: (info: ResourceInfo) => ResourceHooks;

  constructor(private readonly deps: RestDeps) {
    this.hooks = hooksFor(deps.schemas);
  }

  get storage(): Storage {
    return this.deps.storage;
  }

  /** Schema admission: 422 on violations; unknown fields → 400 (Strict) or warnings (Warn). Returns the object to store. */
  private admit(info: ResourceInfo, obj: StoredObject, fieldValidation: FieldValidation, warnings: string[]): StoredObject {
    const { object, errors, unknownFields } = this.deps.schemas.admit(info, obj, fieldValidation);
    if (errors.length > 0) throw invalid(info, obj.metadata?.name, errors);
    if (unknownFields.length > 0 && fieldValidation === 'Strict') throw badRequest(strictDecodingMessage(unknownFields));
    if (unknownFields.length > 0 && fieldValidation === 'Warn') warnings.push(...unknownFieldWarnings(unknownFields));
    return object as StoredObject;
  }

  /** Objects may only be created in a namespace that exists and is not terminating. */
  private async checkNamespace(info: ResourceInfo, namespace: string | undefined): Promise<void> {
    if (!info.namespaced) return;
    if (!namespace) throw badRequest(`${info.kind} is namespaced: the request must name a namespace`);
    const known = this.deps.namespaces?.lookup(namespace);
    const terminating =
      known?.terminating ??
      !!metaOf(await mapStorage({ group: '', plural: 'namespaces', name: namespace }, () => this.deps.storage.get(namespaceKey(namespace)))).deletionTimestamp;
    if (terminating)
      throw forbidden(`${info.plural} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
        group: info.group,
        plural: info.plural,
      });
  }

  async create(info: ResourceInfo, namespace: string | undefined, body: unknown, opts: WriteOptions): Promise<WriteResult> {
    const warnings: string[] = [];
    // The body was parsed for this request alone: shaping it in place is safe.
    const obj = asObject(body, 'the object');
    prepareForCreate(info, obj, namespace);
    delete metaOf(obj).managedFields;
    const admitted = this.admit(info, obj, opts.fieldValidation, warnings);
    metaOf(admitted).managedFields = recordUpdate(undefined, FieldSet.fromObject(admitted), new FieldSet(), opts.fieldManager, info.apiVersion);
    return { object: await this.storeNew(info, admitted, opts), warnings, created: true };
  }

  private async storeNew(info: ResourceInfo, obj: StoredObject, opts: WriteOptions): Promise<StoredObject> {
    const name = String(obj.metadata.name);
    await this.checkNamespace(info, obj.metadata.namespace);
    const hooks = this.hooks(info);
    hooks.beforeStore?.(info, obj);
    await opts.admit?.(obj);
    const key = keyFor(info, obj.metadata.namespace, name);
    if (opts.dryRun) {
      const exists = await this.deps.storage.get(key).then(() => true, () => false);
      if (exists) throw alreadyExists(subjectOf(info, name));
      return obj;
    }
    const stored = await mapStorage(subjectOf(info, name), () => this.deps.storage.create(key, obj));
    hooks.afterStore?.(stored);
    return stored;
  }

  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<StoredObject> {
    return mapStorage(subjectOf(info, name), () => this.deps.storage.get(keyFor(info, namespace, name)));
  }

  async list(info: ResourceInfo, namespace: string | undefined, query: ListQuery): Promise<ListBody> {
    const predicate = selectionPredicate(query.labelSelector, query.fieldSelector);
    const result = await mapStorage(subjectOf(info), () =>
      this.deps.storage.list(prefixFor(info, namespace), { limit: query.limit, continue: query.continue, predicate }),
    );
    const metadata: ListBody['metadata'] = { resourceVersion: String(result.revision) };
    if (result.continue) metadata.continue = result.continue;
    if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
    return { apiVersion: info.apiVersion, kind: info.listKind, metadata, items: result.items };
  }

  /** PUT: a full replacement, conditional on the body's resourceVersion. */
  async update(info: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions, subresource?: string): Promise<WriteResult> {
    const next = asObject(body, 'the object');
    const meta = next.metadata && typeof next.metadata === 'object' ? next.metadata : undefined;
    if (meta?.name !== undefined && meta.name !== name)
      throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
    const rv = meta?.resourceVersion;
    if (!rv)
      throw invalid(info, name, [
        { field: 'metadata.resourceVersion', reason: 'FieldValueInvalid', message: 'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update' },
      ]);
    return this.write(info, namespace, name, opts, subresource, (current) => {
      if (current.metadata.resourceVersion !== rv) throw conflict(subjectOf(info, name), OBJECT_MODIFIED);
      return structuredClone(next);
    });
  }

  async patch(info: ResourceInfo, namespace: string | undefined, name: string, patchType: string, patch: unknown, opts: PatchOptions, subresource?: string): Promise<WriteResult> {
    if (patchType === PATCH_TYPES.apply) return this.apply(info, namespace, name, patch, opts, subresource);
    if (patchType === PATCH_TYPES.strategic && info.group !== '') throw unsupportedMediaType(patchType);
    if (patchType !== PATCH_TYPES.json && patchType !== PATCH_TYPES.merge && patchType !== PATCH_TYPES.strategic) throw unsupportedMediaType(patchType);
    return this.write(info, namespace, name, opts, subresource, (current) => {
      const result = asObject(applyPatchDocument(patchType, current, patch), 'the patched object');
      const rv = result.metadata?.resourceVersion;
      if (rv !== undefined && rv !== current.metadata.resourceVersion) throw conflict(subjectOf(info, name), OBJECT_MODIFIED);
      return result;
    });
  }

  /** Server-side apply: create if missing, else merge with ownership checks. */
  private async apply(info: ResourceInfo, namespace: string | undefined, name: string, body: unknown, opts: PatchOptions, subresource?: string): Promise<WriteResult> {
    const applied = structuredClone(asObject(body, 'an apply configuration'));
    if (applied.metadata?.name !== undefined && applied.metadata.name !== name)
      throw badRequest(`the name of the object (${String(applied.metadata.name)}) does not match the name on the URL (${name})`);
    if (!applied.apiVersion || !applied.kind) throw badRequest('an apply configuration must set apiVersion and kind');
    const runApply = (live: StoredObject | undefined): StoredObject => {
      try {
        return serverSideApply({ live, applied, manager: opts.fieldManager, force: opts.force, apiVersion: info.apiVersion, subresource }) as StoredObject;
      } catch (err) {
        if (err instanceof ApplyConflictError) throw applyConflict(info, name, err);
        throw err;
      }
    };
    const key = keyFor(info, namespace, name);
    const exists = await this.deps.storage.get(key).then(() => true, (err) => {
      if ((err as { code?: string }).code === 'NotFound') return false;
      throw err;
    });
    if (!exists) {
      const warnings: string[] = [];
      const obj = runApply(undefined);
      obj.metadata = { ...obj.metadata, name };
      const managedFields = obj.metadata.managedFields;
      prepareForCreate(info, obj, namespace);
      const admitted = this.admit(info, obj, opts.fieldValidation, warnings);
      metaOf(admitted).managedFields = managedFields as unknown[];
      return { object: await this.storeNew(info, admitted, opts), warnings, created: true };
    }
    return this.write(info, namespace, name, opts, subresource, (current) => runApply(current), true);
  }

  /**
   * The one read-modify-write path: `mutate` produces the next object from the current one; metadata rules,
   * admission and managed fields follow; a dry run computes without writing.
   */
  async write(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: WriteOptions,
    subresource: string | undefined,
    mutate: (current: StoredObject) => StoredObject,
    isApply = false,
  ): Promise<WriteResult> {
    const warnings: string[] = [];
    const key = keyFor(info, namespace, name);
    const hooks = this.hooks(info);
    const compute = async (current: StoredObject): Promise<StoredObject> => {
      warnings.length = 0;
      const candidate = prepareForUpdate(info, mutate(structuredClone(current)), current, subresource);
      const admitted = this.admit(info, candidate, opts.fieldValidation, warnings);
      const meta = metaOf(admitted);
      if (!isApply) {
        const kept = FieldSet.fromObject(admitted);
        const removed = FieldSet.of([...FieldSet.fromObject(current)].filter((p) => !kept.has(p)));
        meta.managedFields = recordUpdate(metaOf(current).managedFields, changedFields(current, admitted), removed, opts.fieldManager, info.apiVersion, subresource);
      }
      meta.resourceVersion = current.metadata.resourceVersion;
      hooks.beforeStore?.(info, admitted);
      if (jsonEqual(admitted, current)) return current;
      await opts.admit?.(admitted);
      return admitted;
    };
    const subject = subjectOf(info, name);
    if (opts.dryRun) {
      const current = await mapStorage(subject, () => this.deps.storage.get(key));
      return { object: await compute(current), warnings, created: false };
    }
    const stored = await mapStorage(subject, () => this.deps.storage.guaranteedUpdate(key, compute));
    hooks.afterStore?.(stored);
    return { object: await this.finalizeIfDone(info, stored), warnings, created: false };
  }

  /** An object marked for deletion whose last finalizer is gone is deleted now. */
  async finalizeIfDone(info: ResourceInfo, obj: StoredObject): Promise<StoredObject> {
    const meta = metaOf(obj);
    const namespacePending = isNamespaceResource(info) && ((obj.spec as { finalizers?: string[] } | undefined)?.finalizers?.length ?? 0) > 0;
    if (!meta.deletionTimestamp || (meta.finalizers?.length ?? 0) > 0 || namespacePending) return obj;
    const key = keyFor(info, meta.namespace, String(meta.name));
    try {
      const deleted = await this.deps.storage.delete(key, { resourceVersion: meta.resourceVersion });
      this.hooks(info).afterDelete?.(deleted);
      return deleted;
    } catch (err) {
      // Someone else finished (or changed) it first: report what we stored.
      if ((err as { code?: string }).code === 'NotFound' || (err as { code?: string }).code === 'Conflict') return obj;
      throw err;
    }
  }

  hooksOf(info: ResourceInfo): ResourceHooks {
    return this.hooks(info);
  }
}

/** Applies a JSON patch or a merge patch (strategic merge is treated as merge) to a document. */
export const applyPatchDocument = (patchType: string, doc: unknown, patch: unknown): unknown => {
  try {
    return patchType === PATCH_TYPES.json ? applyJsonPatch(doc, patch) : applyMergePatch(doc, asObject(patch, 'a merge patch'));
  } catch (err) {
    if (err instanceof PatchError) throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${err.message}`, undefined, { cause: err });
    throw err;
  }
};

const applyConflict = (info: ResourceInfo, name: string, err: ApplyConflictError): ApiError => {
  const lines = err.conflicts.map((c) => `conflict with "${c.manager}": .${c.path.join('.')}`);
  const message = `Apply failed with ${err.conflicts.length} conflict${err.conflicts.length === 1 ? '' : 's'}: ${lines.join('\n')}`;
  return new ApiError(409, 'Conflict', message, {
    name,
    group: info.group || undefined,
    kind: info.plural,
    causes: err.conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with "${c.manager}"`, field: `.${c.path.join('.')}` })),
  });
};
