/**
 * Sets of field paths, as server-side apply tracks ownership, and their `FieldsV1` encoding
 * (`{"f:spec":{"f:replicas":{}}}`). Lists are atomic here: a list is owned as one leaf.
 */

export type FieldPath = readonly string[];

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Fields the server owns: never part of anyone's managed set. */
const SERVER_METADATA = new Set([
  'name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'selfLink', 'generateName',
]);

export class FieldSet {
  private readonly paths = new Map<string, FieldPath>();

  static of(paths: Iterable<FieldPath>): FieldSet {
    const set = new FieldSet();
    for (const p of paths) set.add(p);
    return set;
  }

  /** Every leaf of a Kubernetes object (apiVersion, kind and server-owned metadata excluded). */
  static fromObject(obj: Record<string, unknown>): FieldSet {
    const set = new FieldSet();
    const walk = (value: unknown, path: string[]): void => {
      if (isObject(value) && Object.keys(value).length > 0) {
        for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
      } else set.add(path);
    };
    for (const [k, v] of Object.entries(obj)) {
      if (k === 'apiVersion' || k === 'kind') continue;
      if (k === 'metadata' && isObject(v)) {
        for (const [mk, mv] of Object.entries(v)) if (!SERVER_METADATA.has(mk)) walk(mv, ['metadata', mk]);
      } else walk(v, [k]);
    }
    return set;
  }

  static fromFieldsV1(tree: unknown): FieldSet {
    const set = new FieldSet();
    const walk = (node: unknown, path: string[]): void => {
      const children = isObject(node) ? Object.keys(node).filter((k) => k !== '.') : [];
      const named = children.filter((k) => k.startsWith('f:'));
      // A node with keyed/positional list children (k:, v:, i:) is a list we treat as one atomic leaf.
      if (path.length > 0 && (children.length === 0 || named.length < children.length)) {
        set.add(path);
        return;
      }
      for (const k of named) walk((node as Record<string, unknown>)[k], [...path, k.slice(2)]);
    };
    walk(tree, []);
    return set;
  }

  add(path: FieldPath): void {
    this.paths.set(JSON.stringify(path), path);
  }
  delete(path: FieldPath): void {
    this.paths.delete(JSON.stringify(path));
  }
  has(path: FieldPath): boolean {
    return this.paths.has(JSON.stringify(path));
  }
  get size(): number {
    return this.paths.size;
  }
  [Symbol.iterator](): IterableIterator<FieldPath> {
    return this.paths.values();
  }

  toFieldsV1(): Record<string, unknown> {
    const root: Record<string, unknown> = {};
    for (const path of this.paths.values()) {
      let node = root;
      for (const step of path) {
        const key = `f:${step}`;
        node[key] = (node[key] as Record<string, unknown> | undefined) ?? {};
        node = node[key] as Record<string, unknown>;
      }
    }
    return root;
  }
}

/** True if one path is the other or lies beneath it. */
export const overlaps = (a: FieldPath, b: FieldPath): boolean => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

export const valueAt = (obj: unknown, path: FieldPath): unknown => {
  let cur = obj;
  for (const step of path) {
    if (!isObject(cur)) return undefined;
    cur = cur[step];
  }
  return cur;
};

/** Removes the field at `path` and any parents left empty by it. */
export const removePath = (obj: Record<string, unknown>, path: FieldPath): void => {
  if (path.length === 0) return;
  const [head, ...rest] = path;
  if (rest.length === 0) {
    delete obj[head];
    return;
  }
  const child = obj[head];
  if (!isObject(child)) return;
  removePath(child, rest);
  if (Object.keys(child).length === 0) delete obj[head];
};

export const jsonEqual = (a: unknown, b: unknown): boolean => {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ak = Object.keys(a as object);
  const bo = b as Record<string, unknown>;
  return ak.length === Object.keys(bo).length && ak.every((k) => k in bo && jsonEqual((a as Record<string, unknown>)[k], bo[k]));
};

/** Leaves of `next` that are new or changed compared with `prev`. */
export const changedFields = (prev: Record<string, unknown> | undefined, next: Record<string, unknown>): FieldSet => {
  const changed = new FieldSet();
  for (const path of FieldSet.fromObject(next)) if (!prev || !jsonEqual(valueAt(prev, path), valueAt(next, path))) changed.add(path);
  return changed;
};
