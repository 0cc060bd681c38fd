import {
  decodeContinue,
  decodeObject,
  encodeContinue,
  encodeObject,
  isSameEncoding,
  prefixEnd,
} from '../../../api/storage/codec';
import { StorageError } from '../../../api/storage';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return (err as StorageError).code;
  }
  return undefined;
};

describe('storage codec', () => {
  it('stores objects without resourceVersion and stamps the row revision on read', () => {
    const text = encodeObject('/k', { metadata: { name: 'a', resourceVersion: '7' }, spec: { x: 1 } });
    expect(JSON.parse(text)).toEqual({ metadata: { name: 'a' }, spec: { x: 1 } });
    expect(decodeObject('/k', text, 42)).toEqual({ metadata: { name: 'a', resourceVersion: '42' }, spec: { x: 1 } });
  });

  it.each([
    ['not JSON', () => decodeObject('/k', '{', 1)],
    ['no metadata', () => decodeObject('/k', '{"spec":{}}', 1)],
    ['metadata missing on write', () => encodeObject('/k', { spec: {} } as never)],
    ['a cycle on write', () => {
      const o: Record<string, unknown> = { metadata: { name: 'a' } };
      o.self = o;
      return encodeObject('/k', o as never);
    }],
  ])('reports %s as Invalid', (_what, fn) => {
    expect(codeOf(fn)).toBe('Invalid');
  });

  it.each([
    ['{"a":1,"b":[1,2]}', '{"b":[1,2],"a":1}', true],
    ['{"a":1}', '{"a":1,"b":null}', false],
    ['{"a":[1,2]}', '{"a":[2,1]}', false],
  ])('isSameEncoding(%s, %s) is %s', (a, b, same) => {
    expect(isSameEncoding(a, b)).toBe(same);
  });

  it.each([
    ['/registry/pods/', '/registry/pods0'],
    ['/a', '/b'],
  ])('prefixEnd(%s) is %s, above every key under the prefix', (prefix, end) => {
    expect(prefixEnd(prefix)).toBe(end);
    expect(`${prefix}zzz\u00ff` < prefixEnd(prefix)).toBe(true);
  });

  it('round-trips continue tokens and rejects foreign or garbled ones', () => {
    const token = encodeContinue({ revision: 12, lastKey: '/registry/pods/ns/a' });
    expect(decodeContinue('/registry/pods/', token)).toEqual({ revision: 12, lastKey: '/registry/pods/ns/a' });
    expect(codeOf(() => decodeContinue('/registry/images/', token))).toBe('BadRequest');
    expect(codeOf(() => decodeContinue('/registry/pods/', '%%%'))).toBe('BadRequest');
    const negative = Buffer.from(JSON.stringify({ v: 1, rv: -1, start: '/registry/pods/a' })).toString('base64url');
    expect(codeOf(() => decodeContinue('/registry/pods/', negative))).toBe('BadRequest');
  });
});
