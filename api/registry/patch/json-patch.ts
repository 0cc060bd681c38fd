/** RFC 6902 JSON Patch over plain JSON values. Any failure is a PatchError (the REST layer answers 422/400). */

export class PatchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PatchError';
  }
}

type Json = unknown;
interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

/** RFC 6901: `/a/b~1c/0` → ['a', 'b/c', '0']. */
export const parsePointer = (pointer: string): string[] => {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new PatchError(`invalid JSON pointer "${pointer}"`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
};

const isContainer = (v: Json): v is Record<string, Json> | Json[] => v !== null && typeof v === 'object';

const arrayIndex = (arr: Json[], token: string, forInsert: boolean): number => {
  if (forInsert && token === '-') return arr.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) throw new PatchError(`invalid array index "${token}"`);
  const i = Number(token);
  if (i > arr.length || (!forInsert && i === arr.length)) throw new PatchError(`array index ${i} out of bounds`);
  return i;
};

/** The container holding the pointer's last token, and that token. */
const locate = (doc: Json, tokens: string[], pointer: string): { parent: Record<string, Json> | Json[]; last: string } => {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false)];
    else if (isContainer(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = (cur as Record<string, Json>)[t];
    else throw new PatchError(`path "${pointer}" does not exist`);
  }
  if (!isContainer(cur)) throw new PatchError(`path "${pointer}" does not exist`);
  return { parent: cur, last: tokens[tokens.length - 1] };
};

const getAt = (doc: Json, pointer: string): Json => {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return doc;
  const { parent, last } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, last, false)];
  if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError(`path "${pointer}" does not exist`);
  return parent[last];
};

const removeAt = (doc: Json, pointer: string): Json => {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document');
  const { parent, last } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0];
  if (!Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError(`path "${pointer}" does not exist`);
  const old = parent[last];
  delete parent[last];
  return old;
};

/** Returns the new document (the root may be replaced). */
const addAt = (doc: Json, pointer: string, value: Json, replace: boolean): Json => {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, last } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(parent, last, !replace);
    parent.splice(i, replace ? 1 : 0, value);
  } else {
    if (replace && !Object.prototype.hasOwnProperty.call(parent, last)) throw new PatchError(`path "${pointer}" does not exist`);
    parent[last] = value;
  }
  return doc;
};

const deepEqual = (a: Json, b: Json): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
const canonical = (v: Json): Json => {
  if (Array.isArray(v)) return v.map(canonical);
  if (isContainer(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, Json>)[k])]));
  return v;
};

const asOperation = (raw: Json, i: number): Operation => {
  if (!isContainer(raw) || Array.isArray(raw)) throw new PatchError(`operation ${i} is not an object`);
  const op = raw as Record<string, Json>;
  if (typeof op.op !== 'string' || typeof op.path !== 'string') throw new PatchError(`operation ${i} needs string "op" and "path"`);
  if ((op.op === 'move' || op.op === 'copy') && typeof op.from !== 'string') throw new PatchError(`operation ${i} (${op.op}) needs "from"`);
  if (['add', 'replace', 'test'].includes(op.op) && !('value' in op)) throw new PatchError(`operation ${i} (${op.op}) needs "value"`);
  return op as unknown as Operation;
};

/** Applies `patch` (an array of operations) to a deep copy of `doc`. */
export const applyJsonPatch = (doc: Json, patch: Json): Json => {
  if (!Array.isArray(patch)) throw new PatchError('a JSON patch must be an array of operations');
  let result = structuredClone(doc);
  patch.forEach((raw, i) => {
    const op = asOperation(raw, i);
    switch (op.op) {
      case 'add':
        result = addAt(result, op.path, structuredClone(op.value), false);
        break;
      case 'remove':
        removeAt(result, op.path);
        break;
      case 'replace':
        result = addAt(result, op.path, structuredClone(op.value), true);
        break;
      case 'move': {
        if (op.path.startsWith(`${op.from}/`)) throw new PatchError(`cannot move "${op.from}" into its own child "${op.path}"`);
        const value = removeAt(result, op.from as string);
        result = addAt(result, op.path, value, false);
        break;
      }
      case 'copy':
        result = addAt(result, op.path, structuredClone(getAt(result, op.from as string)), false);
        break;
      case 'test':
        if (!deepEqual(getAt(result, op.path), op.value)) throw new PatchError(`test operation at "${op.path}" failed`);
        break;
      default:
        throw new PatchError(`unknown operation "${op.op}"`);
    }
  });
  return result;
};
