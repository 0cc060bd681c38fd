/**
 * How objects, preconditions and continue tokens look on the wire of every backend. Shared so that SQLite and etcd
 * agree byte for byte (an object stored by one decodes identically in the other).
 */
import { isDeepStrictEqual } from 'node:util';
import { Preconditions, StorageError, StoredEventText, StoredObject, WatchEvent, WatchEventType } from './types';

/** The stored form: JSON without `metadata.resourceVersion` (the revision of the row is the version). */
export function encodeObject(key: string, obj: StoredObject): string {
  if (obj === null || typeof obj !== 'object' || obj.metadata === null || typeof obj.metadata !== 'object') {
    throw new StorageError('Invalid', key, `object for ${key} has no metadata`);
  }
  const { resourceVersion: _dropped, ...metadata } = obj.metadata;
  try {
    return JSON.stringify({ ...obj, metadata });
  } catch (err) {
    throw new StorageError('Invalid', key, `object for ${key} cannot be encoded as JSON`, undefined, { cause: err });
  }
}

/** Parses a stored value and stamps it with the revision it was written at. */
export function decodeObject(key: string, text: string, revision: number): StoredObject {
  let obj: StoredObject;
  try {
    obj = JSON.parse(text) as StoredObject;
  } catch (err) {
    throw new StorageError('Invalid', key, `stored value of ${key} at revision ${revision} is not JSON`, revision, {
      cause: err,
    });
  }
  if (obj === null || typeof obj !== 'object' || obj.metadata === null || typeof obj.metadata !== 'object') {
    throw new StorageError('Invalid', key, `stored value of ${key} at revision ${revision} has no metadata`, revision);
  }
  obj.metadata.resourceVersion = String(revision);
  return obj;
}

/**
 * What a write hands back to its writer: `obj` as stored at `revision`, without decoding the stored text again. A
 * copy of its top level and metadata (`obj` itself is left alone) that shares everything deeper with `obj`, which
 * the writer built for this write.
 */
export function writtenObject(obj: StoredObject, revision: number): StoredObject {
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } };
}

/** An event whose objects are decoded afresh from their stored text (see WatchEvent.stored). */
export function decodeEvent(type: WatchEventType, key: string, revision: number, stored: StoredEventText): WatchEvent {
  const object = decodeObject(key, stored.object, revision);
  if (!stored.prev) return { type, key, object, revision, stored };
  return { type, key, object, prevObject: decodeObject(key, stored.prev.text, stored.prev.revision), revision, stored };
}

/** True if `nextText` (an encoded object) means the same JSON as `storedText`: such an update writes nothing. */
export function isSameEncoding(storedText: string, nextText: string): boolean {
  return storedText === nextText || isDeepStrictEqual(JSON.parse(storedText), JSON.parse(nextText));
}

/** Throws Conflict if `current` violates `pre`. */
export function checkPreconditions(key: string, current: StoredObject, pre: Preconditions | undefined): void {
  if (!pre) return;
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== current.metadata.resourceVersion) {
    throw new StorageError(
      'Conflict',
      key,
      `precondition failed for ${key}: resourceVersion is ${current.metadata.resourceVersion}, expected ${pre.resourceVersion}`,
      Number(current.metadata.resourceVersion),
    );
  }
  if (pre.uid !== undefined && pre.uid !== current.metadata.uid) {
    throw new StorageError(
      'Conflict',
      key,
      `precondition failed for ${key}: uid is ${String(current.metadata.uid)}, expected ${pre.uid}`,
      Number(current.metadata.resourceVersion),
    );
  }
}

/** A watch/list argument not ending in `/` names one key; `` and `.../` name a prefix. */
export const isPrefix = (prefixOrKey: string): boolean => prefixOrKey === '' || prefixOrKey.endsWith('/');

/** The smallest string greater than every string starting with `prefix` (exclusive end of a range scan). */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return '\u{10ffff}';
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export interface ContinueToken {
  /** The revision the first page was read at; every later page reads there too. */
  readonly revision: number;
  /** The last key returned; the next page starts after it. */
  readonly lastKey: string;
}

export function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 1, rv: token.revision, start: token.lastKey })).toString('base64url');
}

/** Decodes a token issued for `prefix`; BadRequest if it is garbled or belongs to another prefix. */
export function decodeContinue(prefix: string, token: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch (err) {
    throw new StorageError('BadRequest', prefix, `continue token is not valid`, undefined, { cause: err });
  }
  const t = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (t?.v !== 1 || !Number.isSafeInteger(t.rv) || (t.rv as number) < 0 || typeof t.start !== 'string') {
    throw new StorageError('BadRequest', prefix, `continue token is not valid`);
  }
  if (!t.start.startsWith(prefix)) {
    throw new StorageError('BadRequest', prefix, `continue token was issued for a different prefix`);
  }
  return { revision: t.rv as number, lastKey: t.start };
}
