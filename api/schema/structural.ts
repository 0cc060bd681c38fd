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

/**
 * A schema node prepared for walking objects: property lookups in a Map, the flags read once, the defaulted
 * properties listed. Built once per schema (cached), so pruning and defaulting cost one pass over the object.
 */
interface WalkNode {
  readonly props?: Map<string, WalkNode>;
  readonly items?: WalkNode;
  /** additionalProperties schema of a map (an object without properties). */
  readonly values?: WalkNode;
  /** Unknown keys stay (preserve-unknown-fields or additionalProperties: true). */
  readonly keepUnknown: boolean;
  readonly nullable: boolean;
  readonly defaults: ReadonlyArray<readonly [string, unknown, WalkNode]>;
}

const walkNodes = new WeakMap<JSONSchemaProps, WalkNode>();

/** apiVersion, kind and metadata: every object (the root, or an `x-kubernetes-embedded-resource`) has them. */
function implicitTypeMeta(): Array<[string, JSONSchemaProps]> {
  return [
    ['apiVersion', { type: 'string' }],
    ['kind', { type: 'string' }],
    ['metadata', objectMetaSchema],
  ];
}

function walkNode(schema: JSONSchemaProps, isResource = false): WalkNode {
  const cached = isResource ? undefined : walkNodes.get(schema);
  if (cached) return cached;
  const resource = isResource || schema['x-kubernetes-embedded-resource'] === true;
  // The implicit fields come last so that they win over what a CRD says of them (it may only say `type: object`).
  const entries: Array<[string, JSONSchemaProps]> = [...Object.entries(schema.properties ?? {}), ...(resource ? implicitTypeMeta() : [])];
  const props = schema.properties || resource ? new Map(entries.map(([k, v]) => [k, walkNode(v)])) : undefined;
  const node: WalkNode = {
    props,
    items: schema.items ? walkNode(schema.items) : undefined,
    values: typeof schema.additionalProperties === 'object' && !schema.properties ? walkNode(schema.additionalProperties) : undefined,
    keepUnknown: schema['x-kubernetes-preserve-unknown-fields'] === true || schema.additionalProperties === true,
    nullable: schema.nullable === true,
    defaults: entries.filter(([, v]) => v.default !== undefined).map(([k, v]) => [k, v.default, walkNode(v)] as const),
  };
  if (!isResource) walkNodes.set(schema, node);
  return node;
}

const rootNodes = new WeakMap<JSONSchemaProps, WalkNode>();

function rootNode(schema: JSONSchemaProps): WalkNode {
  let node = rootNodes.get(schema);
  if (!node) {
    node = walkNode(schema, true);
    rootNodes.set(schema, node);
  }
  return node;
}

/** Path segments of the node being walked; joined into a field path only when something is removed (the rare case). */
type Segments = Array<string | number | { key: string }>;

function joinSegments(segments: Segments): string {
  let path = '';
  for (const s of segments) {
    if (typeof s === 'number') path = fieldPath.index(path, s);
    else if (typeof s === 'string') path = fieldPath.child(path, s);
    else path = fieldPath.mapKey(path, s.key);
  }
  return path;
}

interface WalkOptions {
  readonly prune: boolean;
  readonly defaults: boolean;
}

/** One pass: drop unknown keys (recording their paths), drop nulls of non-nullable fields, fill defaults. */
function walk(node: WalkNode, value: unknown, at: Segments, removed: string[], opts: WalkOptions): void {
  if (Array.isArray(value)) {
    const items = node.items;
    if (!items) return;
    for (let i = 0; i < value.length; i++) {
      at.push(i);
      walk(items, value[i], at, removed, opts);
      at.pop();
    }
    return;
  }
  if (!isPlainObject(value)) return;
  for (const key in value) {
    const child = node.props?.get(key) ?? node.values;
    if (child) {
      if (opts.defaults && value[key] === null && !child.nullable) {
        delete value[key];
        continue;
      }
      at.push(node.props ? key : { key });
      walk(child, value[key], at, removed, opts);
      at.pop();
    } else if (opts.prune && !node.keepUnknown) {
      delete value[key];
      removed.push(joinSegments([...at, key]));
    }
  }
  if (!opts.defaults) return;
  for (const [key, defaultValue, child] of node.defaults) {
    if (value[key] === undefined) {
      value[key] = structuredClone(defaultValue);
      walk(child, value[key], at, removed, opts);
    }
  }
}

/**
 * Removes every field the schema does not describe (unless `x-kubernetes-preserve-unknown-fields` allows it) and
 * returns their paths, so the caller can reject (Strict), warn (Warn) or stay silent (Ignore).
 */
export function prune(schema: JSONSchemaProps, obj: unknown): string[] {
  const removed: string[] = [];
  walk(rootNode(schema), obj, [], removed, { prune: true, defaults: false });
  return removed;
}

/**
 * Applies schema `default`s to absent fields of objects that exist (a missing parent is not created), after dropping
 * `null`s of non-nullable fields — Kubernetes treats those as "unset" rather than as type errors.
 */
export function applyDefaults(schema: JSONSchemaProps, obj: unknown): void {
  walk(rootNode(schema), obj, [], [], { prune: false, defaults: true });
}

/** prune() then applyDefaults(), in one pass; returns the pruned paths. */
export function pruneAndDefault(schema: JSONSchemaProps, obj: unknown): string[] {
  const removed: string[] = [];
  walk(rootNode(schema), obj, [], removed, { prune: true, defaults: true });
  return removed;
}
