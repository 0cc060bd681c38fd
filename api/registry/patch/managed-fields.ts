/**
 * `metadata.managedFields`: who owns which field. Updates (create/PUT/patch) take ownership of what they change
 * without conflicts; server-side apply (apply.ts) checks ownership first.
 */
import { nowTimestamp } from '../metadata';
import { FieldSet, overlaps } from './field-set';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** A parsed entry: the same identity, with its field set decoded. */
export interface Ownership {
  readonly entry: ManagedFieldsEntry;
  readonly fields: FieldSet;
}

export const readOwnership = (managedFields: unknown): Ownership[] =>
  (Array.isArray(managedFields) ? (managedFields as ManagedFieldsEntry[]) : [])
    .filter((e) => e && typeof e.manager === 'string')
    .map((entry) => ({ entry, fields: FieldSet.fromFieldsV1(entry.fieldsV1) }));

export const sameOwner = (e: ManagedFieldsEntry, manager: string, operation: string, subresource?: string): boolean =>
  e.manager === manager && e.operation === operation && (e.subresource ?? '') === (subresource ?? '');

/** Serialises ownership back, dropping owners left with nothing. */
export const writeOwnership = (owners: Ownership[]): ManagedFieldsEntry[] =>
  owners
    .filter((o) => o.fields.size > 0)
    .map((o) => ({ ...o.entry, fieldsV1: o.fields.toFieldsV1() }));

/** Gives `manager` (operation Update) the fields in `changed`, taking them from everyone else. */
export const recordUpdate = (
  managedFields: unknown,
  changed: FieldSet,
  removed: FieldSet,
  manager: string,
  apiVersion: string,
  subresource?: string,
): ManagedFieldsEntry[] => {
  const owners = readOwnership(managedFields);
  for (const o of owners) {
    for (const p of [...o.fields]) {
      if ([...changed].some((c) => overlaps(c, p)) || [...removed].some((r) => overlaps(r, p))) o.fields.delete(p);
    }
  }
  if (changed.size > 0) {
    let mine = owners.find((o) => sameOwner(o.entry, manager, 'Update', subresource));
    if (!mine) {
      const entry: ManagedFieldsEntry = { manager, operation: 'Update', apiVersion, time: nowTimestamp(), fieldsType: 'FieldsV1', fieldsV1: {} };
      if (subresource) entry.subresource = subresource;
      mine = { entry, fields: new FieldSet() };
      owners.push(mine);
    }
    mine.entry.time = nowTimestamp();
    for (const c of changed) mine.fields.add(c);
  }
  return writeOwnership(owners);
};

export const newApplyEntry = (manager: string, apiVersion: string, subresource?: string): ManagedFieldsEntry => {
  const entry: ManagedFieldsEntry = { manager, operation: 'Apply', apiVersion, time: nowTimestamp(), fieldsType: 'FieldsV1', fieldsV1: {} };
  if (subresource) entry.subresource = subresource;
  return entry;
};
