import { applyDefaults, prune, pruneAndDefault } from '../../../api/schema/structural';
import type { JSONSchemaProps } from '../../../api/schema';

const schema: JSONSchemaProps = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      properties: {
        replicas: { type: 'integer', default: 1 },
        mode: { type: 'string', default: 'auto' },
        nullable: { type: 'string', nullable: true, default: 'x' },
        ports: { type: 'array', items: { type: 'object', properties: { port: { type: 'integer' }, protocol: { type: 'string', default: 'TCP' } } } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        things: { type: 'object', additionalProperties: { type: 'object', properties: { a: { type: 'integer', default: 7 } } } },
        free: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { known: { type: 'object', properties: { k: { type: 'string' } } } } },
        anyMap: { type: 'object', additionalProperties: true },
        empty: { type: 'object' },
        nested: { type: 'object', properties: { deep: { type: 'object', properties: { v: { type: 'integer', default: 5 } } } } },
        embedded: { type: 'object', 'x-kubernetes-embedded-resource': true, properties: { spec: { type: 'object', properties: { x: { type: 'integer' } } } } },
      },
    },
  },
};

describe('prune', () => {
  it.each([
    ['an unknown top-level field', { spec: {}, extra: 1 }, ['extra'], { spec: {} }],
    ['an unknown spec field', { spec: { replicas: 2, foo: 'x' } }, ['spec.foo'], { spec: { replicas: 2 } }],
    ['a field inside an array item', { spec: { ports: [{ port: 1 }, { port: 2, bogus: true }] } }, ['spec.ports[1].bogus'], { spec: { ports: [{ port: 1 }, { port: 2 }] } }],
    ['a field inside a map value', { spec: { things: { a1: { a: 1, b: 2 } } } }, ['spec.things[a1].b'], { spec: { things: { a1: { a: 1 } } } }],
    ['nothing under preserve-unknown-fields, but known children are pruned', { spec: { free: { anything: 1, known: { k: 'v', z: 1 } } } }, ['spec.free.known.z'], { spec: { free: { anything: 1, known: { k: 'v' } } } }],
    ['nothing under additionalProperties: true', { spec: { anyMap: { a: { b: 1 } } } }, [], { spec: { anyMap: { a: { b: 1 } } } }],
    ['everything under an object without properties', { spec: { empty: { a: 1 } } }, ['spec.empty.a'], { spec: { empty: {} } }],
    ['unknown metadata fields but not ObjectMeta ones', { metadata: { name: 'n', labels: { a: 'b' }, bogus: 1 }, spec: {} }, ['metadata.bogus'], { metadata: { name: 'n', labels: { a: 'b' } }, spec: {} }],
    ['nothing of apiVersion/kind', { apiVersion: 'x/v1', kind: 'X' }, [], { apiVersion: 'x/v1', kind: 'X' }],
    ['unknown fields of an embedded resource, keeping its metadata', { spec: { embedded: { apiVersion: 'v1', kind: 'K', metadata: { name: 'e', zzz: 1 }, spec: { x: 1, y: 2 } } } }, ['spec.embedded.metadata.zzz', 'spec.embedded.spec.y'], { spec: { embedded: { apiVersion: 'v1', kind: 'K', metadata: { name: 'e' }, spec: { x: 1 } } } }],
    ['nothing when a value has the wrong type (validation reports it)', { spec: { ports: 'nope', labels: 5 } }, [], { spec: { ports: 'nope', labels: 5 } }],
  ])('removes %s', (_what, input, removed, output) => {
    const obj = structuredClone(input);
    expect(prune(schema, obj)).toEqual(removed);
    expect(obj).toEqual(output);
  });
});

describe('applyDefaults', () => {
  it.each([
    ['fills absent fields of an existing object', { spec: {} }, { spec: { replicas: 1, mode: 'auto', nullable: 'x' } }],
    ['keeps given values', { spec: { replicas: 0, mode: 'manual', nullable: 'y' } }, { spec: { replicas: 0, mode: 'manual', nullable: 'y' } }],
    ['does not create a missing parent', {}, {}],
    ['replaces null of a non-nullable field by its default', { spec: { replicas: null } }, { spec: { replicas: 1, mode: 'auto', nullable: 'x' } }],
    ['keeps null of a nullable field', { spec: { nullable: null } }, { spec: { replicas: 1, mode: 'auto', nullable: null } }],
    ['drops null of a non-nullable field without default', { spec: { ports: null } }, { spec: { replicas: 1, mode: 'auto', nullable: 'x' } }],
    ['defaults inside array items', { spec: { ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] } }, { spec: { replicas: 1, mode: 'auto', nullable: 'x', ports: [{ port: 80, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] } }],
    ['defaults inside map values', { spec: { things: { t: {} } } }, { spec: { replicas: 1, mode: 'auto', nullable: 'x', things: { t: { a: 7 } } } }],
    ['defaults in nested objects that exist only', { spec: { nested: {} } }, { spec: { replicas: 1, mode: 'auto', nullable: 'x', nested: {} } }],
    ['defaults two levels down', { spec: { nested: { deep: {} } } }, { spec: { replicas: 1, mode: 'auto', nullable: 'x', nested: { deep: { v: 5 } } } }],
  ])('%s', (_what, input, output) => {
    const obj = structuredClone(input);
    applyDefaults(schema, obj);
    expect(obj).toEqual(output);
  });

  it('copies defaults (objects are not shared between documents)', () => {
    const s: JSONSchemaProps = { type: 'object', properties: { o: { type: 'object', default: { a: [1] } } } };
    const x: Record<string, unknown> = {};
    const y: Record<string, unknown> = {};
    applyDefaults(s, x);
    applyDefaults(s, y);
    (x.o as { a: number[] }).a.push(2);
    expect(y.o).toEqual({ a: [1] });
  });
});

describe('pruneAndDefault', () => {
  it.each([
    [{ spec: { foo: 1, ports: [{ port: 1, x: 2 }] }, bar: 2 }],
    [{ metadata: { name: 'n', creationTimestamp: null, zzz: 1 }, spec: { replicas: null, nested: { deep: {} } } }],
    [{ spec: { things: { a: { b: 1 } }, free: { x: 1 } } }],
  ])('does what prune then applyDefaults do, in one pass (%j)', (input) => {
    const twoPasses = structuredClone(input);
    const removed = prune(schema, twoPasses);
    applyDefaults(schema, twoPasses);
    const onePass = structuredClone(input);
    expect(pruneAndDefault(schema, onePass)).toEqual(removed);
    expect(onePass).toEqual(twoPasses);
  });

  it('drops metadata.creationTimestamp: null as kubectl-generated YAML carries it', () => {
    const obj = { metadata: { name: 'n', creationTimestamp: null } };
    pruneAndDefault(schema, obj);
    expect(obj).toEqual({ metadata: { name: 'n' } });
  });
});
