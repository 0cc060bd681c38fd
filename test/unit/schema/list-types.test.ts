import { listTypeErrors } from '../../../api/schema/list-types';
import type { JSONSchemaProps } from '../../../api/schema';

const schema: JSONSchemaProps = {
  type: 'object',
  properties: {
    tags: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' },
    ports: { type: 'array', items: { type: 'object', properties: { port: { type: 'integer' }, protocol: { type: 'string' } } }, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['port', 'protocol'] },
    atomic: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic' },
    byName: { type: 'object', additionalProperties: { type: 'array', items: { type: 'integer' }, 'x-kubernetes-list-type': 'set' } },
  },
};

describe('listTypeErrors', () => {
  it.each([
    ['unique sets and maps', { tags: ['a', 'b'], ports: [{ port: 1, protocol: 'TCP' }, { port: 1, protocol: 'UDP' }] }, []],
    ['a repeated set item', { tags: ['a', 'b', 'a'] }, [['tags[2]', 'Duplicate value: "a"']]],
    ['a repeated map key', { ports: [{ port: 1, protocol: 'TCP' }, { port: 2, protocol: 'TCP' }, { port: 1, protocol: 'TCP' }] }, [['ports[2]', 'Duplicate value: {"port":1,"protocol":"TCP"}']]],
    ['repeats in an atomic list', { atomic: ['x', 'x'] }, []],
    ['a repeat inside a map value', { byName: { k: [1, 1] } }, [['byName[k][1]', 'Duplicate value: 1']]],
  ])('%s', (_what, obj, expected) => {
    expect(listTypeErrors(schema, obj).map((e) => [e.field, e.message])).toEqual(expected);
  });
});
