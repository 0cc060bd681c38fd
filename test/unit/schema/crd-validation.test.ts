import { compareKubeVersions, validateCrdObject } from '../../../api/schema/crd-validation';
import { newWidgetCrd } from './crd-fixtures';

type Crd = ReturnType<typeof newWidgetCrd>;
const mutate = (f: (c: Crd & Record<string, any>) => void): unknown => {
  const c = newWidgetCrd() as Crd & Record<string, any>;
  f(c);
  return c;
};
const schemaOf = (c: any) => c.spec.versions[0].schema.openAPIV3Schema;
const S = 'spec.versions[0].schema.openAPIV3Schema';

describe('validateCrdObject', () => {
  it('accepts a good CRD', () => {
    expect(validateCrdObject(newWidgetCrd())).toEqual([]);
  });

  it.each([
    ['not an object', 'x', '', 'FieldValueTypeInvalid'],
    ['no spec', mutate((c) => delete (c as any).spec), 'spec', 'FieldValueRequired'],
    ['a name that is not plural.group', mutate((c) => (c.metadata.name = 'widget.example.com')), 'metadata.name', 'FieldValueInvalid'],
    ['no group', mutate((c) => ((c.spec as any).group = '')), 'spec.group', 'FieldValueRequired'],
    ['a group without a dot', mutate((c) => { c.spec.group = 'example'; c.metadata.name = 'widgets.example'; }), 'spec.group', 'FieldValueInvalid'],
    ['an upper-case group', mutate((c) => { c.spec.group = 'Example.com'; c.metadata.name = 'widgets.Example.com'; }), 'spec.group', 'FieldValueInvalid'],
    ['no names', mutate((c) => delete (c.spec as any).names), 'spec.names', 'FieldValueRequired'],
    ['no plural', mutate((c) => ((c.spec.names as any).plural = undefined)), 'spec.names.plural', 'FieldValueRequired'],
    ['an upper-case plural', mutate((c) => { c.spec.names.plural = 'Widgets'; c.metadata.name = 'Widgets.example.com'; }), 'spec.names.plural', 'FieldValueInvalid'],
    ['a lower-case kind', mutate((c) => (c.spec.names.kind = 'widget')), 'spec.names.kind', 'FieldValueInvalid'],
    ['listKind equal to kind', mutate((c) => (c.spec.names.listKind = 'Widget')), 'spec.names.listKind', 'FieldValueInvalid'],
    ['a bad shortName', mutate((c) => (c.spec.names.shortNames = ['ok', 'Not_OK'])), 'spec.names.shortNames[1]', 'FieldValueInvalid'],
    ['categories not a list', mutate((c) => ((c.spec.names as any).categories = 'all')), 'spec.names.categories', 'FieldValueTypeInvalid'],
    ['a bad scope', mutate((c) => ((c.spec as any).scope = 'Global')), 'spec.scope', 'FieldValueNotSupported'],
    ['no versions', mutate((c) => (c.spec.versions = [])), 'spec.versions', 'FieldValueRequired'],
    ['no storage version', mutate((c) => (c.spec.versions[0].storage = false)), 'spec.versions', 'FieldValueInvalid'],
    ['two storage versions', mutate((c) => c.spec.versions.push({ ...structuredClone(c.spec.versions[0]), name: 'v2' })), 'spec.versions', 'FieldValueInvalid'],
    ['a duplicate version', mutate((c) => c.spec.versions.push({ ...structuredClone(c.spec.versions[0]), storage: false })), 'spec.versions[1].name', 'FieldValueDuplicate'],
    ['a bad version name', mutate((c) => (c.spec.versions[0].name = '1.0')), 'spec.versions[0].name', 'FieldValueInvalid'],
    ['served not a boolean', mutate((c) => ((c.spec.versions[0] as any).served = 'yes')), 'spec.versions[0].served', 'FieldValueRequired'],
    ['no schema', mutate((c) => delete c.spec.versions[0].schema), `${S}`, 'FieldValueRequired'],
    ['a non-object root', mutate((c) => (schemaOf(c).type = 'string')), `${S}.type`, 'FieldValueInvalid'],
    ['a node without type', mutate((c) => delete schemaOf(c).properties.spec.properties.size.type), `${S}.properties[spec].properties[size].type`, 'FieldValueRequired'],
    ['an unknown type', mutate((c) => (schemaOf(c).properties.spec.properties.size.type = 'int')), `${S}.properties[spec].properties[size].type`, 'FieldValueNotSupported'],
    ['properties and additionalProperties together', mutate((c) => (schemaOf(c).properties.spec.additionalProperties = { type: 'string' })), `${S}.properties[spec].additionalProperties`, 'FieldValueForbidden'],
    ['additionalProperties false', mutate((c) => (schemaOf(c).properties.status.additionalProperties = false)), `${S}.properties[status].additionalProperties`, 'FieldValueForbidden'],
    ['an array without items', mutate((c) => (schemaOf(c).properties.spec.properties.list = { type: 'array' })), `${S}.properties[spec].properties[list].items`, 'FieldValueRequired'],
    ['a $ref', mutate((c) => (schemaOf(c).properties.spec.properties.r = { type: 'object', $ref: '#/x' })), `${S}.properties[spec].properties[r].$ref`, 'FieldValueForbidden'],
    ['int-or-string with a type', mutate((c) => (schemaOf(c).properties.spec.properties.p = { type: 'string', 'x-kubernetes-int-or-string': true })), `${S}.properties[spec].properties[p].type`, 'FieldValueForbidden'],
    ['a bad regular expression', mutate((c) => (schemaOf(c).properties.spec.properties.s = { type: 'string', pattern: '([' })), `${S}.properties[spec].properties[s].pattern`, 'FieldValueInvalid'],
    ['metadata with more than name', mutate((c) => (schemaOf(c).properties.metadata = { type: 'object', properties: { labels: { type: 'object' } } })), `${S}.properties[metadata]`, 'FieldValueForbidden'],
    ['a scale path outside .spec', mutate((c) => (c.spec.versions[0].subresources!.scale!.specReplicasPath = '.status.replicas')), 'spec.versions[0].subresources.scale.specReplicasPath', 'FieldValueInvalid'],
    ['a scale without statusReplicasPath', mutate((c) => delete (c.spec.versions[0].subresources!.scale as any).statusReplicasPath), 'spec.versions[0].subresources.scale.statusReplicasPath', 'FieldValueRequired'],
    ['a printer column without jsonPath', mutate((c) => (c.spec.versions[0].additionalPrinterColumns = [{ name: 'X', type: 'string' } as any])), 'spec.versions[0].additionalPrinterColumns[0].jsonPath', 'FieldValueRequired'],
    ['a printer column of a bad type', mutate((c) => (c.spec.versions[0].additionalPrinterColumns = [{ name: 'X', type: 'object', jsonPath: '.a' } as any])), 'spec.versions[0].additionalPrinterColumns[0].type', 'FieldValueNotSupported'],
    ['preserveUnknownFields true', mutate((c) => (c.spec.preserveUnknownFields = true)), 'spec.preserveUnknownFields', 'FieldValueInvalid'],
    ['a Webhook conversion', mutate((c) => (c.spec.conversion = { strategy: 'Webhook' })), 'spec.conversion.strategy', 'FieldValueNotSupported'],
    ['a default of the wrong type', mutate((c) => (schemaOf(c).properties.spec.properties.size.default = 'big')), `${S}.properties[spec].properties[size].default`, 'FieldValueInvalid'],
    ['a default outside the enum', mutate((c) => (schemaOf(c).properties.spec.properties.color.default = 'green')), `${S}.properties[spec].properties[color].default`, 'FieldValueInvalid'],
    ['a default below the minimum', mutate((c) => (schemaOf(c).properties.spec.properties.size.default = 0)), `${S}.properties[spec].properties[size].default`, 'FieldValueInvalid'],
    ['an object default missing a required field', mutate((c) => (schemaOf(c).properties.spec.default = { color: 'red' })), `${S}.properties[spec].default`, 'FieldValueInvalid'],
  ])('rejects %s', (_what, crd, field, reason) => {
    expect(validateCrdObject(crd).map((e) => [e.field, e.reason])).toContainEqual([field, reason]);
  });

  it('allows typeless nodes inside anyOf and int-or-string / preserve-unknown-fields nodes', () => {
    const crd = mutate((c) => {
      schemaOf(c).properties.spec.properties.p = { 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
      schemaOf(c).properties.spec.properties.free = { 'x-kubernetes-preserve-unknown-fields': true };
      schemaOf(c).properties.spec.properties.v = { type: 'string', anyOf: [{ pattern: '^a' }, { pattern: '^b' }] };
    });
    expect(validateCrdObject(crd)).toEqual([]);
  });
});

describe('compareKubeVersions', () => {
  it('orders GA before beta before alpha, higher first, others last', () => {
    const versions = ['v1alpha1', 'foo', 'v2beta1', 'v1', 'v1beta2', 'v2', 'v1beta1', 'bar', 'v11alpha2'];
    expect([...versions].sort(compareKubeVersions)).toEqual(['v2', 'v1', 'v2beta1', 'v1beta2', 'v1beta1', 'v11alpha2', 'v1alpha1', 'bar', 'foo']);
  });
});
