/**
 * `x-kubernetes-list-type` semantics of structural schemas: the items of a `set` are unique, and the items of a
 * `map` are unique by their `x-kubernetes-list-map-keys` (kube-apiserver rejects duplicates with FieldValueDuplicate).
 */
import { fieldErrors } from './errors';
import { fieldPath } from './structural';
import type { FieldError, JSONSchemaProps } from './types';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Duplicates in every list-type set/map of `obj`, found by walking it alongside `schema`. */
export function listTypeErrors(schema: JSONSchemaProps, obj: unknown): FieldError[] {
  const errors: FieldError[] = [];
  walk(schema, obj, '', errors);
  return errors;
}

function walk(schema: JSONSchemaProps, value: unknown, at: string, errors: FieldError[]): void {
  if (Array.isArray(value)) {
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set' || listType === 'map') {
      const keys = schema['x-kubernetes-list-map-keys'] ?? [];
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const identity = JSON.stringify(listType === 'set' ? item : keys.map((k) => (isObj(item) ? item[k] : undefined)));
        if (seen.has(identity)) errors.push(fieldErrors.duplicate(fieldPath.index(at, i), listType === 'set' ? item : identityOf(item, keys)));
        seen.add(identity);
      });
    }
    if (schema.items) value.forEach((item, i) => walk(schema.items!, item, fieldPath.index(at, i), errors));
    return;
  }
  if (!isObj(value)) return;
  // Keys of the value, not of the schema: an object sets a few of the many properties its schema knows.
  const { properties, additionalProperties } = schema;
  if (properties) {
    for (const key in value) if (Object.hasOwn(properties, key)) walk(properties[key], value[key], fieldPath.child(at, key), errors);
  } else if (typeof additionalProperties === 'object') {
    for (const key in value) walk(additionalProperties, value[key], fieldPath.mapKey(at, key), errors);
  }
}

function identityOf(item: unknown, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, isObj(item) ? item[k] : undefined]));
}
