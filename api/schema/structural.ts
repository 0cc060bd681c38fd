/**
 * Structural-schema semantics on objects: pruning of unknown fields and defaulting, as kube-apiserver applies them to
 * custom resources (https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#field-pruning).
 * Both walk the object alongside its schema and mutate the object in place.
 */
import { objectMetaSchema } from './object-meta';
import type { JSONSchemaProps } from './types';

type Obj = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Field path helpers in Kubernetes notation: `spec.ports[0].name`, `metadata.labels[app]`. */
export const fieldPath = {
  child: (parent: string, key: string): string => (parent ? `${parent}.${key}` : key),
  index: (parent: string, i: number): string => `${parent}[${i}]`,
  mapKey: (parent: string, key: string): string => `${parent}[${key}]`,
};

/** Fields every object (the root, or an `x-kubernetes-embedded-resource`) has without declaring them. */
const IMPLICIT_TYPE_META: Record<string, JSONSchemaProps> = {
  apiVersion: { type: 'string' },
  kind: { type: 'string' },
  metadata: objectMetaSchema,
};

/** The schema of property `key` of an object node, including apiVersion/kind/metadata of resources. */
function propertySchema(schema: JSONSchemaProps, key: string, isResource: boolean): JSONSchemaProps | undefined {
  if (isResource && key in IMPLICIT_TYPE_META) return IMPLICIT_TYPE_META[key];
  return schema.properties?.[key];
}

/**
 * Removes every field the schema does not describe (unless `x-kubernetes-preserve-unknown-fields` allows it) and
 * returns their paths, so the caller can reject (Strict), warn (Warn) or stay silent (Ignore).
 */
export function prune(schema: JSONSchemaProps, obj: unknown): string[] {
  const removed: string[] = [];
  pruneNode(schema, obj, '', true, removed);
  return removed;
}

function pruneNode(schema: JSONSchemaProps, value: unknown, path: string, isResource: boolean, removed: string[]): void {
  if (Array.isArray(value)) {
    if (schema.items) value.forEach((item, i) => pruneNode(schema.items!, item, fieldPath.index(path, i), false, removed));
    return;
  }
  if (!isPlainObject(value)) return;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const resource = isResource || schema['x-kubernetes-embedded-resource'] === true;
  const mapSchema = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const key of Object.keys(value)) {
    const child = propertySchema(schema, key, resource);
    if (child) {
      pruneNode(child, value[key], fieldPath.child(path, key), false, removed);
    } else if (mapSchema && !schema.properties) {
      pruneNode(mapSchema, value[key], fieldPath.mapKey(path, key), false, removed);
    } else if (!preserve && schema.additionalProperties !== true) {
      delete value[key];
      removed.push(fieldPath.child(path, key));
    }
  }
}

/**
 * Applies schema `default`s to absent fields of objects that exist (a missing parent is not created), after dropping
 * `null`s of non-nullable fields — Kubernetes treats those as "unset" rather than as type errors.
 */
export function applyDefaults(schema: JSONSchemaProps, obj: unknown): void {
  defaultNode(schema, obj, true);
}

function defaultNode(schema: JSONSchemaProps, value: unknown, isResource: boolean): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) defaultNode(schema.items, item, false);
    return;
  }
  if (!isPlainObject(value)) return;
  const resource = isResource || schema['x-kubernetes-embedded-resource'] === true;
  if (schema.properties) {
    for (const [key, child] of Object.entries(schema.properties)) fillField(value, key, child);
  }
  const mapSchema = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const key of Object.keys(value)) {
    const child = propertySchema(schema, key, resource) ?? (schema.properties ? undefined : mapSchema);
    if (!child) continue;
    if (!schema.properties?.[key]) fillField(value, key, child);
    defaultNode(child, value[key], false);
  }
}

function fillField(parent: Obj, key: string, schema: JSONSchemaProps): void {
  if (parent[key] === null && !schema.nullable) delete parent[key];
  if (parent[key] === undefined && schema.default !== undefined) parent[key] = structuredClone(schema.default);
}
