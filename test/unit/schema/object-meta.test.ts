import { dropEmptyMetaStrings, validateLabels, validateObjectMeta, nameRules } from '../../../api/schema/object-meta';

const namespaced = { namespaced: true, nameProblems: nameRules.subdomain };
const cluster = { namespaced: false, nameProblems: nameRules.subdomain };

describe('validateObjectMeta', () => {
  it.each([
    ['a valid name', { name: 'web-1' }, namespaced, []],
    ['generateName only', { generateName: 'web-' }, namespaced, []],
    ['no metadata', undefined, namespaced, [['metadata', 'FieldValueRequired']]],
    ['no name or generateName', {}, namespaced, [['metadata.name', 'FieldValueRequired']]],
    ['an upper-case name', { name: 'Web' }, namespaced, [['metadata.name', 'FieldValueInvalid']]],
    ['a 254-character name', { name: 'a'.repeat(254) }, namespaced, [['metadata.name', 'FieldValueInvalid']]],
    ['a bad generateName', { generateName: 'Bad_' }, namespaced, [['metadata.generateName', 'FieldValueInvalid']]],
    ['a bad namespace', { name: 'x', namespace: 'a.b' }, namespaced, [['metadata.namespace', 'FieldValueInvalid']]],
    ['a namespace on a cluster-scoped kind', { name: 'x', namespace: 'default' }, cluster, [['metadata.namespace', 'FieldValueForbidden']]],
    ['a bad label key', { name: 'x', labels: { 'a/b/c': 'v' } }, namespaced, [['metadata.labels', 'FieldValueInvalid']]],
    ['a bad label value', { name: 'x', labels: { app: 'has space' } }, namespaced, [['metadata.labels[app]', 'FieldValueInvalid']]],
    ['a bad annotation key', { name: 'x', annotations: { 'bad key': 'v' } }, namespaced, [['metadata.annotations', 'FieldValueInvalid']]],
    ['annotations over 256 KiB', { name: 'x', annotations: { big: 'x'.repeat(256 * 1024) } }, namespaced, [['metadata.annotations', 'FieldValueTooLong']]],
    ['a bad finalizer', { name: 'x', finalizers: ['ok.io/f', 'bad finalizer'] }, namespaced, [['metadata.finalizers[1]', 'FieldValueInvalid']]],
    ['an ownerReference with an empty uid', { name: 'x', ownerReferences: [{ apiVersion: 'v1', kind: 'K', name: 'n', uid: '' }] }, namespaced, [['metadata.ownerReferences[0].uid', 'FieldValueInvalid']]],
  ])('%s', (_what, meta, rules, expected) => {
    const errors = validateObjectMeta(meta, rules);
    expect(errors.map((e) => [e.field, e.reason])).toEqual(expected);
  });

  it('names the namespace rule in the message', () => {
    const [e] = validateObjectMeta({ name: 'Bad' }, namespaced);
    expect(e.message).toMatch(/^Invalid value: "Bad": a lowercase RFC 1123 subdomain/);
  });

  it.each([
    [{ 'example.com/tier': 'web' }, 0],
    [{ tier: '' }, 0],
    [{ 'x/y/z': 'ok', good: 'bad value' }, 2],
  ])('validateLabels(%j) finds %i problems', (labels, count) => {
    expect(validateLabels(labels, 'spec.selector.matchLabels')).toHaveLength(count);
  });
});

describe('dropEmptyMetaStrings', () => {
  it('drops the empty strings Kubernetes omits (protobuf clients send them) and keeps the rest', () => {
    const meta = { name: 'team-a', generateName: '', namespace: '', uid: '', resourceVersion: '', creationTimestamp: '', labels: {}, annotations: { a: '' } };
    dropEmptyMetaStrings(meta);
    expect(meta).toEqual({ name: 'team-a', labels: {}, annotations: { a: '' } });
  });

  it.each([undefined, null, 'x', []])('ignores metadata that is not an object (%j)', (meta) => {
    expect(() => dropEmptyMetaStrings(meta)).not.toThrow();
  });
});
