import { SchemaRegistry } from '../../../api/schema';
import { MAX_JSON_DEPTH, TooDeepError, cloneJson } from '../../../api/schema/json';

const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

describe('cloneJson', () => {
  it.each([[null], [1], ['s'], [true], [[1, [2, { a: [3] }]]], [{ a: { b: null, c: [] } }]])('copies %j', (value) => {
    const copy = cloneJson(value);
    expect(copy).toEqual(value);
    if (typeof value === 'object' && value !== null) expect(copy).not.toBe(value);
  });

  it('drops undefined members as JSON does', () => {
    expect(cloneJson({ a: undefined, b: 1 })).toEqual({ b: 1 });
    expect(Object.keys(cloneJson({ a: undefined, b: 1 }))).toEqual(['b']);
  });

  it('copies up to the depth limit and refuses deeper values', () => {
    expect(() => cloneJson(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => cloneJson(nested(MAX_JSON_DEPTH + 1))).toThrow(TooDeepError);
  });
});

describe('admit of a pathologically nested document', () => {
  it('is a 422 naming the kind, not a stack overflow', () => {
    const registry = SchemaRegistry.withBuiltins();
    const info = registry.resolveKind('berth.dev/v1', 'Container')!;
    const { errors } = registry.admit(info, { metadata: { name: 'x' }, spec: { image: 'a', zz: nested(20000) } });
    expect(errors).toEqual([{ field: '', reason: 'FieldValueInvalid', message: 'Invalid value: "<object>": Container is nested more than 256 levels deep' }]);
  });
});
