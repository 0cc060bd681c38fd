/**
 * DELETE semantics: preconditions, finalizers and deletionTimestamp (an object with finalizers is only marked),
 * propagationPolicy (Background: delete now, the garbage collector removes dependents; Foreground: mark with the
 * `foregroundDeletion` finalizer until dependents are gone; Orphan: mark with `orphan` until dependents are released),
 * namespaces (marked Terminating; the collector empties them, then removes them), and deletecollection.
 */
import type { ResourceInfo } from '../schema';
import type { StoredObject } from '../storage';
import { badRequest, conflict, forbidden } from '../server/errors';
import { keyFor } from './keys';
import { metaOf, nowTimestamp } from './metadata';
import type { ListQuery, ResourceRest } from './rest';
import { mapStorage, toApiError } from './storage-errors';

export type PropagationPolicy = 'Background' | 'Foreground' | 'Orphan';

export interface DeleteOptions {
  readonly propagationPolicy?: PropagationPolicy;
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
  readonly dryRun: boolean;
}

export interface DeleteResult {
  readonly object: StoredObject;
  /** False when the object was only marked (finalizers pending). */
  readonly deleted: boolean;
}

export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

/** Namespaces the cluster relies on: refused deletion, as Kubernetes' NamespaceLifecycle admission does. */
export const PROTECTED_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public'];

export const isNamespaceResource = (info: Pick<ResourceInfo, 'group' | 'plural'>): boolean => info.group === '' && info.plural === 'namespaces';

/** Parses DeleteOptions from a request body and/or query parameters (the body wins). */
export const parseDeleteOptions = (body: unknown, query: { propagationPolicy?: string; dryRun: boolean }): DeleteOptions => {
  const b = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  let policy = (b.propagationPolicy as string | undefined) ?? query.propagationPolicy;
  if (policy === undefined && b.orphanDependents === true) policy = 'Orphan';
  if (policy !== undefined && !['Background', 'Foreground', 'Orphan'].includes(policy))
    throw badRequest(`propagationPolicy: Unsupported value: "${policy}": supported values: "Background", "Foreground", "Orphan"`);
  const bodyDryRun = Array.isArray(b.dryRun) && b.dryRun.includes('All');
  return {
    propagationPolicy: policy as PropagationPolicy | undefined,
    preconditions: (b.preconditions as DeleteOptions['preconditions']) ?? undefined,
    dryRun: query.dryRun || bodyDryRun,
  };
};

const checkPreconditions = (info: ResourceInfo, obj: StoredObject, pre: DeleteOptions['preconditions']): void => {
  const meta = metaOf(obj);
  const subject = { group: info.group, plural: info.plural, name: String(meta.name) };
  if (pre?.uid && pre.uid !== meta.uid)
    throw conflict(subject, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta.uid)}`);
  if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion)
    throw conflict(subject, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${String(meta.resourceVersion)}`);
};

const finalizerFor = (policy: PropagationPolicy | undefined): string | undefined =>
  policy === 'Foreground' ? FOREGROUND_FINALIZER : policy === 'Orphan' ? ORPHAN_FINALIZER : undefined;

/** Marks an object as being deleted, adding the policy's finalizer (idempotent). */
const markDeleting = (info: ResourceInfo, rest: ResourceRest, obj: StoredObject, finalizer: string | undefined): StoredObject => {
  const next = structuredClone(obj);
  const meta = metaOf(next);
  meta.deletionTimestamp ??= nowTimestamp();
  meta.deletionGracePeriodSeconds = 0;
  if (finalizer) {
    const others = (meta.finalizers ?? []).filter((f) => f !== FOREGROUND_FINALIZER && f !== ORPHAN_FINALIZER);
    meta.finalizers = [...others, finalizer];
  }
  rest.hooksOf(info).beforeStore?.(info, next);
  return next;
};

export const deleteObject = async (rest: ResourceRest, info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<DeleteResult> => {
  const key = keyFor(info, namespace, name);
  const subject = { group: info.group, plural: info.plural, name };
  const finalizer = finalizerFor(opts.propagationPolicy);
  if (isNamespaceResource(info) && PROTECTED_NAMESPACES.includes(name))
    throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, subject);
  for (;;) {
    const current = await mapStorage(subject, () => rest.storage.get(key));
    checkPreconditions(info, current, opts.preconditions);
    const pending = (metaOf(current).finalizers?.length ?? 0) > 0 || finalizer !== undefined || isNamespaceResource(info);
    if (opts.dryRun) return { object: pending ? markDeleting(info, rest, current, finalizer) : current, deleted: !pending };
    if (pending) {
      const marked = await mapStorage(subject, () =>
        rest.storage.guaranteedUpdate(key, (cur) => {
          checkPreconditions(info, cur, opts.preconditions);
          return markDeleting(info, rest, cur, finalizer);
        }),
      );
      return { object: marked, deleted: false };
    }
    try {
      const deleted = await rest.storage.delete(key, { resourceVersion: current.metadata.resourceVersion });
      rest.hooksOf(info).afterDelete?.(deleted);
      return { object: deleted, deleted: true };
    } catch (err) {
      // Changed between read and delete (e.g. a finalizer was added): decide again on the new state.
      if ((err as { code?: string }).code !== 'Conflict') throw toApiError(err, subject);
    }
  }
};

/** DELETE on a collection: every matching object, as if deleted one by one; returns the list of what was deleted/marked. */
export const deleteCollection = async (
  rest: ResourceRest,
  info: ResourceInfo,
  namespace: string | undefined,
  query: ListQuery,
  opts: DeleteOptions,
): Promise<StoredObject[]> => {
  const list = await rest.list(info, namespace, { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector });
  const results: StoredObject[] = [];
  for (const item of list.items) {
    const meta = metaOf(item);
    try {
      results.push((await deleteObject(rest, info, meta.namespace, String(meta.name), opts)).object);
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
    }
  }
  return results;
};
