import { SchemaInvalidError, SchemaRegistry, type RegistryChange } from '../../../api/schema';
import { newWidgetCrd } from './crd-fixtures';

describe('SchemaRegistry: CRDs at run time', () => {
  let registry: SchemaRegistry;
  let changes: RegistryChange[];
  beforeEach(() => {
    registry = SchemaRegistry.withBuiltins();
    changes = [];
    registry.onChange((c) => changes.push(c));
  });

  it('serves a new kind after addCrd and forgets it after removeCrd, telling listeners both times', () => {
    const [info] = registry.addCrd(newWidgetCrd());
    expect(info).toMatchObject({ group: 'example.com', version: 'v1', kind: 'Widget', listKind: 'WidgetList', singular: 'widget', shortNames: ['wd'], categories: ['all'], namespaced: true, builtIn: false, crdName: 'widgets.example.com' });
    expect(info.subresources).toEqual({ status: true, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } });
    expect(info.printerColumns).toEqual([{ name: 'Size', type: 'integer', jsonPath: '.spec.size' }, { name: 'Color', type: 'string', jsonPath: '.spec.color' }, { name: 'Phase', type: 'string', jsonPath: '.status.phase' }]);
    expect(registry.resolve('example.com', 'v1', 'widgets')).toBe(info);
    expect(registry.resolveKind('example.com/v1', 'Widget')).toBe(info);
    expect(registry.getCrd('widgets.example.com')?.spec.group).toBe('example.com');
    expect(registry.removeCrd('widgets.example.com')).toBe(true);
    expect(registry.resolve('example.com', 'v1', 'widgets')).toBeUndefined();
    expect(registry.resolveKind('example.com/v1', 'Widget')).toBeUndefined();
    expect(registry.removeCrd('widgets.example.com')).toBe(false);
    expect(changes.map((c) => [c.type, c.resources.map((r) => r.kind)])).toEqual([['added', ['Widget']], ['removed', ['Widget']]]);
  });

  it('validates objects of the new kind with its schema', () => {
    const [info] = registry.addCrd(newWidgetCrd());
    const ok = registry.admit(info, { metadata: { name: 'w' }, spec: { size: 2, extra: { anything: [1] }, junk: 1 } });
    expect(ok.errors).toEqual([]);
    expect(ok.unknownFields).toEqual(['spec.junk']);
    expect(ok.object.spec).toEqual({ size: 2, color: 'red', extra: { anything: [1] } });
    const bad = registry.admit(info, { metadata: { name: 'w' }, spec: { size: 0, color: 'green' } });
    expect(bad.errors.map((e) => e.field)).toEqual(['spec.size', 'spec.color']);
  });

  it('replaces a CRD of the same name (an update), with the new schema', () => {
    registry.addCrd(newWidgetCrd());
    const updated = newWidgetCrd();
    (updated.spec.versions[0].schema!.openAPIV3Schema!.properties!.spec.properties!.size as { minimum: number }).minimum = 10;
    const [info] = registry.addCrd(updated);
    expect(registry.admit(info, { metadata: { name: 'w' }, spec: { size: 5 } }).errors.map((e) => e.field)).toEqual(['spec.size']);
    expect(registry.resources().filter((r) => r.kind === 'Widget')).toHaveLength(1);
  });

  it('rejects an invalid CRD with SchemaInvalidError naming every field, and serves nothing of it', () => {
    const crd = newWidgetCrd();
    crd.spec.scope = 'Everywhere' as never;
    crd.spec.versions[0].storage = false;
    let caught: unknown;
    try {
      registry.addCrd(crd);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SchemaInvalidError);
    expect((caught as SchemaInvalidError).errors.map((e) => e.field)).toEqual(['spec.scope', 'spec.versions']);
    expect((caught as Error).message).toMatch(/^CustomResourceDefinition "widgets.example.com" is invalid: spec.scope: Unsupported value/);
    expect(registry.resolve('example.com', 'v1', 'widgets')).toBeUndefined();
    expect(changes).toEqual([]);
  });

  it.each([
    ['the kind of a built-in kind in its group', (() => { const c = newWidgetCrd({ group: 'berth.dev', kind: 'Container' }); c.spec.names.singular = 'widget'; return c; })(), 'spec.names.kind'],
    ['a short name another kind of the group uses', (() => { const c = newWidgetCrd({ group: 'berth.dev' }); c.spec.names.shortNames = ['w', 'svc']; return c; })(), 'spec.names.shortNames[1]'],
    ['a singular name that is another kind\'s plural', (() => { const c = newWidgetCrd({ group: 'berth.dev' }); c.spec.names.singular = 'images'; return c; })(), 'spec.names.singular'],
  ])('refuses %s', (_what, crd, field) => {
    expect(registry.validateCrd(crd).map((e) => [e.field, e.reason])).toEqual([[field, 'FieldValueDuplicate']]);
  });

  it('refuses changes to a built-in kind\'s CRD but accepts re-applying it unchanged', () => {
    const crd = registry.getCrd('containers.berth.dev')!;
    expect(registry.validateCrd(crd)).toEqual([]);
    const crdInfo = registry.resolve('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    expect(registry.validateCrd(registry.admit(crdInfo, crd).object)).toEqual([]);
    crd.spec.names.kind = 'Widget';
    expect(registry.validateCrd(crd).map((e) => [e.field, e.reason])).toEqual([['spec', 'FieldValueForbidden']]);
  });

  it.each(['apiextensions.k8s.io', 'meta.k8s.io'])('refuses the reserved group %s', (group) => {
    expect(registry.validateCrd(newWidgetCrd({ group })).map((e) => e.field)).toEqual(['spec.group']);
  });

  it('adds a kind to an existing group (berth.dev) when its names are free', () => {
    const [info] = registry.addCrd(newWidgetCrd({ group: 'berth.dev' }));
    expect(registry.resolve('berth.dev', 'v1', 'widgets')).toBe(info);
    expect(info.builtIn).toBe(false);
  });

  it('serves every served version, stores in the storage version, and skips unserved ones', () => {
    const crd = newWidgetCrd();
    const v1 = crd.spec.versions[0];
    crd.spec.versions = [
      { ...structuredClone(v1), name: 'v1beta1', storage: false },
      { ...structuredClone(v1), name: 'v2', storage: true },
      { ...structuredClone(v1), name: 'v1', storage: false },
      { ...structuredClone(v1), name: 'v1alpha1', served: false, storage: false },
    ];
    const infos = registry.addCrd(crd);
    expect(infos.map((i) => i.version)).toEqual(['v1beta1', 'v2', 'v1']);
    expect(infos.every((i) => i.storageVersion === 'v2')).toBe(true);
    expect(registry.resolve('example.com', 'v1alpha1', 'widgets')).toBeUndefined();
    expect(registry.groups().find((g) => g.name === 'example.com')?.versions).toEqual(['v2', 'v1', 'v1beta1']);
  });

  it('keeps built-in CRDs built-in when they are re-applied', () => {
    const crd = registry.getCrd('containers.berth.dev')!;
    expect(registry.isBuiltInCrd('containers.berth.dev')).toBe(true);
    const [info] = registry.addCrd(crd);
    expect(info.builtIn).toBe(true);
    expect(registry.isBuiltInCrd('containers.berth.dev')).toBe(true);
    expect(registry.isBuiltInCrd('widgets.example.com')).toBe(false);
  });

  it('keeps serving built-in kinds when their CRD is removed', () => {
    expect(registry.removeCrd('containers.berth.dev')).toBe(false);
    expect(registry.resolve('berth.dev', 'v1', 'containers')).toBeDefined();
    expect(changes).toEqual([]);
  });

  it('reports Established and NamesAccepted in crdStatus', () => {
    const status = registry.crdStatus(newWidgetCrd(), new Date('2026-01-02T03:04:05.678Z'));
    expect(status).toEqual({
      conditions: [
        { type: 'NamesAccepted', status: 'True', lastTransitionTime: '2026-01-02T03:04:05Z', reason: 'NoConflicts', message: 'no conflicts found' },
        { type: 'Established', status: 'True', lastTransitionTime: '2026-01-02T03:04:05Z', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
      ],
      acceptedNames: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList', shortNames: ['wd'], categories: ['all'] },
      storedVersions: ['v1'],
    });
  });

  it('stops calling a listener after it unsubscribes', () => {
    const seen: string[] = [];
    const off = registry.onChange((c) => seen.push(c.type));
    registry.addCrd(newWidgetCrd());
    off();
    registry.removeCrd('widgets.example.com');
    expect(seen).toEqual(['added']);
  });

  it('defaults singular, listKind and the conversion strategy of CRD objects', () => {
    const crdInfo = registry.resolve('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    const { object } = registry.admit(crdInfo, newWidgetCrd() as unknown as Record<string, unknown>);
    expect((object.spec as { names: unknown }).names).toMatchObject({ singular: 'widget', listKind: 'WidgetList' });
    expect((object.spec as { conversion: unknown }).conversion).toEqual({ strategy: 'None' });
  });

  it('validates CRD objects themselves against the hand-written CustomResourceDefinition schema', () => {
    const crdInfo = registry.resolve('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')!;
    const crd = newWidgetCrd() as unknown as Record<string, unknown>;
    expect(registry.admit(crdInfo, crd).errors).toEqual([]);
    const { errors } = registry.admit(crdInfo, { ...crd, spec: { ...(crd.spec as object), scope: 'Nowhere', versions: 'v1' } });
    expect(errors.map((e) => e.field)).toEqual(['spec.scope', 'spec.versions']);
  });

  it('throws a descriptive error when asked about a resource it does not serve', () => {
    const [info] = registry.addCrd(newWidgetCrd());
    registry.removeCrd('widgets.example.com');
    expect(() => registry.admit(info, {})).toThrow('resource widgets.example.com/v1 is not served');
  });
});
