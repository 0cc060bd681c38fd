import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILTIN_CRD_DIR, SchemaRegistry } from '../../../api/schema';
import { builtinKinds, renderCrdManifests } from '../../../api/schema/kinds/crds';

describe('manifests/crds', () => {
  const rendered = renderCrdManifests();

  it.each([...rendered.keys()])('%s is up to date with api/schema/kinds (regenerate: node dist/api/schema/kinds/crds.js)', (file) => {
    expect(fs.readFileSync(path.join(BUILTIN_CRD_DIR, file), 'utf8')).toBe(rendered.get(file));
  });

  it('holds no CRD that the generator does not know (rbac-*.yaml are not CRDs)', () => {
    const crdFiles = fs.readdirSync(BUILTIN_CRD_DIR).filter((f) => f.endsWith('.yaml') && !f.startsWith('rbac-'));
    expect(crdFiles.sort()).toEqual([...rendered.keys()].sort());
  });
});

describe('SchemaRegistry.withBuiltins', () => {
  const registry = SchemaRegistry.withBuiltins();

  it.each([
    ['containers', 'Container', true, true, false],
    ['services', 'Service', true, true, true],
    ['images', 'Image', true, true, false],
    ['networks', 'Network', true, true, false],
    ['secrets', 'Secret', true, false, false],
    ['nodes', 'Node', false, true, false],
    ['events', 'Event', true, false, false],
    ['leases', 'Lease', true, false, false],
  ])('serves berth.dev/v1 %s as %s (namespaced %s, status %s, scale %s)', (plural, kind, namespaced, status, scale) => {
    const info = registry.resolve('berth.dev', 'v1', plural)!;
    expect(info).toMatchObject({ kind, plural, namespaced, apiVersion: 'berth.dev/v1', listKind: `${kind}List`, builtIn: true, crdName: `${plural}.berth.dev` });
    expect(info.subresources.status).toBe(status);
    expect(info.subresources.scale !== undefined).toBe(scale);
    expect(registry.resolveKind('berth.dev/v1', kind)).toBe(info);
    expect(info.printerColumns.length).toBeGreaterThan(0);
  });

  it('serves the hand-written core v1 Namespace and apiextensions CustomResourceDefinition', () => {
    expect(registry.resolve('', 'v1', 'namespaces')).toMatchObject({ kind: 'Namespace', namespaced: false, shortNames: ['ns'] });
    expect(registry.resolve('apiextensions.k8s.io', 'v1', 'customresourcedefinitions')).toMatchObject({ kind: 'CustomResourceDefinition', namespaced: false });
  });

  it('serves exactly the generated kinds in berth.dev', () => {
    expect(registry.resources().filter((r) => r.group === 'berth.dev').map((r) => r.kind).sort()).toEqual(builtinKinds.map((k) => k.kind).sort());
  });

  it.each([
    ['Container', ['Image', 'Node', 'Phase', 'Restarts', 'Age']],
    ['Service', ['Replicas', 'Ready', 'Strategy', 'Revision', 'Age']],
  ])('%s prints the columns %j by default', (kind, columns) => {
    const info = registry.resolveKind('berth.dev/v1', kind)!;
    expect(info.printerColumns.filter((c) => !c.priority).map((c) => c.name)).toEqual(columns);
  });

  it('Service scale paths point at spec.replicas, status.replicas and status.selector', () => {
    expect(registry.resolve('berth.dev', 'v1', 'services')!.subresources.scale).toEqual({
      specReplicasPath: '.spec.replicas',
      statusReplicasPath: '.status.replicas',
      labelSelectorPath: '.status.selector',
    });
  });
});
