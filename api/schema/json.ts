/** Deep copies of decoded JSON documents, refusing pathological nesting instead of overflowing the stack. */

/** Deeper than any real manifest; a client nesting more gets a 422 rather than a crashed request. */
export const MAX_JSON_DEPTH = 256;

export class TooDeepError extends Error {
  constructor(readonly limit: number) {
    super(`nested more than ${limit} levels deep`);
    this.name = 'TooDeepError';
  }
}

/** A deep copy of a JSON value (objects, arrays, primitives); throws TooDeepError past `limit` levels. */
export function cloneJson<T>(value: T, limit = MAX_JSON_DEPTH): T {
  return copy(value, limit) as T;
}

function copy(value: unknown, depthLeft: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depthLeft === 0) throw new TooDeepError(MAX_JSON_DEPTH);
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copy(value[i], depthLeft - 1);
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = copy(v, depthLeft - 1);
  }
  return out;
}
