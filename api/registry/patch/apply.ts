/**
 * Server-side apply (`application/apply-patch+yaml`): merges a manager's applied configuration into the live object,
 * with 409 conflicts when it would change a field another manager owns (unless forced), and removal of fields the
 * manager applied before but no longer does (if no one else owns them).
 */
import { FieldSet, jsonEqual, overlaps, removePath, valueAt, type FieldPath } from './field-set';
import { newApplyEntry, readOwnership, sameOwner, writeOwnership, type ManagedFieldsEntry, type Ownership } from './managed-fields';

export interface ApplyConflict {
  readonly manager: string;
  readonly path: FieldPath;
}

export class ApplyConflictError extends Error {
  constructor(readonly conflicts: ApplyConflict[]) {
    super(`Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}`);
    this.name = 'ApplyConflictError';
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Objects merge key by key; lists and scalars from the applied configuration replace. */
const deepMerge = (base: unknown, applied: unknown): unknown => {
  if (!isObject(applied) || !isObject(base)) return structuredClone(applied);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(applied)) out[k] = deepMerge(base[k], v);
  return out;
};

const sameFields = (a: FieldSet, b: FieldSet): boolean => a.size === b.size && [...a].every((p) => b.has(p));

const withoutManagedFields = (obj: Record<string, unknown>): Record<string, unknown> => {
  const { managedFields: _ignored, ...metadata } = (obj.metadata as Record<string, unknown> | undefined) ?? {};
  return { ...obj, metadata };
};

export interface ApplyInput {
  /** The live object, or undefined when the apply creates it. */
  readonly live: Record<string, unknown> | undefined;
  readonly applied: Record<string, unknown>;
  readonly manager: string;
  readonly force: boolean;
  readonly apiVersion: string;
  readonly subresource?: string;
}

const findConflicts = (live: Record<string, unknown>, applied: Record<string, unknown>, appliedSet: FieldSet, others: Ownership[]): ApplyConflict[] => {
  const conflicts: ApplyConflict[] = [];
  for (const other of others) {
    for (const theirs of other.fields) {
      for (const mine of appliedSet) {
        if (!overlaps(mine, theirs)) continue;
        const at = mine.length <= theirs.length ? mine : theirs;
        if (!jsonEqual(valueAt(live, at), valueAt(applied, at))) conflicts.push({ manager: other.entry.manager, path: theirs });
        break;
      }
    }
  }
  return conflicts;
};

/** Returns the merged object with its new managedFields; throws ApplyConflictError. */
export const serverSideApply = (input: ApplyInput): Record<string, unknown> => {
  const { applied, manager, force, apiVersion, subresource } = input;
  const live = input.live ?? {};
  const appliedSet = FieldSet.fromObject(applied);
  const owners = readOwnership((live.metadata as Record<string, unknown> | undefined)?.managedFields);
  const mineIndex = owners.findIndex((o) => sameOwner(o.entry, manager, 'Apply', subresource));
  const previous = mineIndex >= 0 ? owners[mineIndex].fields : new FieldSet();
  const others = owners.filter((_, i) => i !== mineIndex);

  const conflicts = findConflicts(live, applied, appliedSet, others);
  if (conflicts.length > 0 && !force) throw new ApplyConflictError(conflicts);
  for (const c of conflicts) for (const o of others) if (o.entry.manager === c.manager) o.fields.delete(c.path);

  const result = structuredClone(live);
  for (const path of previous) {
    if (appliedSet.has(path)) continue;
    const ownedElsewhere = others.some((o) => [...o.fields].some((p) => overlaps(p, path)));
    if (!ownedElsewhere) removePath(result, path);
  }
  const merged = deepMerge(result, applied) as Record<string, unknown>;

  // A re-apply that changes nothing keeps its entry as it was (time included), so the write is a no-op.
  const unchanged = mineIndex >= 0 && conflicts.length === 0 && sameFields(previous, appliedSet) && jsonEqual(withoutManagedFields(merged), withoutManagedFields(live));
  const entry: ManagedFieldsEntry =
    mineIndex >= 0 ? { ...owners[mineIndex].entry, time: unchanged ? owners[mineIndex].entry.time : newApplyEntry(manager, apiVersion).time } : newApplyEntry(manager, apiVersion, subresource);
  // Entries keep their order (a reordered list would be a change of its own).
  const mine = { entry, fields: appliedSet };
  const managedFields = writeOwnership(mineIndex >= 0 ? owners.map((o, i) => (i === mineIndex ? mine : o)) : [...owners, mine]);
  merged.metadata = { ...(merged.metadata as Record<string, unknown>), managedFields };
  return merged;
};
