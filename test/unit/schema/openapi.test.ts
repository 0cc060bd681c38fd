import { SchemaRegistry, openApiV2, openApiV3Document, openApiV3Index } from '../../../api/schema';
import { definitionName, documentHash } from '../../../api/schema/openapi';
import { newWidgetCrd } from './crd-fixtures';

const registry = SchemaRegistry.withBuiltins();
type Op = { operationId: string; parameters?: Array<{ name: string; in: string }>; 'x-kubernetes-group-version-kind'?: { group: string; version: string; kind: string }; 'x-kubernetes-action'?: string };
type PathItem = Record<string, Op | unknown>;
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
const operations = (paths: Record<string, PathItem>) =>
  Object.entries(paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m] as Op })));

describe('OpenAPI v3', () => {
  const doc = openApiV3Document(registry, 'apis/berth.dev/v1')!;
  const paths = doc.paths as Record<string, PathItem>;
  const schemas = (doc.components as { schemas: Record<string, Record<string, unknown>> }).schemas;

  it('is an OpenAPI 3.0 document per group/version', () => {
    expect(doc.openapi).toBe('3.0.0');
    expect(openApiV3Document(registry, 'apis/nope.dev/v1')).toBeUndefined();
    expect(Object.keys(openApiV3Document(registry, 'api/v1')!.paths as object)).toContain('/api/v1/namespaces/{name}');
  });

  it.each([
    ['/apis/berth.dev/v1/namespaces/{namespace}/containers', ['get', 'post', 'delete']],
    ['/apis/berth.dev/v1/namespaces/{namespace}/containers/{name}', ['get', 'put', 'patch', 'delete']],
    ['/apis/berth.dev/v1/namespaces/{namespace}/containers/{name}/status', ['get', 'put', 'patch']],
    ['/apis/berth.dev/v1/containers', ['get']],
    ['/apis/berth.dev/v1/namespaces/{namespace}/services/{name}/scale', ['get', 'put', 'patch']],
    ['/apis/berth.dev/v1/nodes/{name}', ['get', 'put', 'patch', 'delete']],
  ])('has %s with %j', (path, methods) => {
    expect(METHODS.filter((m) => paths[path]?.[m])).toEqual(methods);
  });

  it('gives every PATCH a group-version-kind and the fieldValidation query parameter (kubectl checks this)', () => {
    const patches = operations(paths).filter((o) => o.method === 'patch');
    expect(patches.length).toBeGreaterThanOrEqual(8);
    for (const { op } of patches) {
      expect(op['x-kubernetes-group-version-kind']).toEqual(expect.objectContaining({ version: 'v1' }));
      expect(op.parameters).toContainEqual(expect.objectContaining({ name: 'fieldValidation', in: 'query' }));
    }
    expect((paths['/apis/berth.dev/v1/namespaces/{namespace}/services/{name}/scale'].patch as Op)['x-kubernetes-group-version-kind']).toEqual({ group: 'autoscaling', version: 'v1', kind: 'Scale' });
  });

  it('names operations like Kubernetes and gives every operation an action', () => {
    const ids = operations(paths).map((o) => o.op.operationId);
    expect(ids).toEqual(expect.arrayContaining(['listBerthDevV1NamespacedContainer', 'createBerthDevV1NamespacedContainer', 'patchBerthDevV1NamespacedServiceScale', 'listBerthDevV1ContainerForAllNamespaces', 'readBerthDevV1Node']));
    expect(new Set(ids).size).toBe(ids.length);
    expect(operations(paths).every((o) => typeof o.op['x-kubernetes-action'] === 'string')).toBe(true);
  });

  it('defines kinds as dev.berth.v1.<Kind> with their GVK, metadata as ObjectMeta, and the meta definitions', () => {
    expect(definitionName('berth.dev', 'v1', 'Container')).toBe('dev.berth.v1.Container');
    expect(definitionName('rbac.authorization.k8s.io', 'v1', 'Role')).toBe('io.k8s.api.rbac.v1.Role');
    expect(definitionName('', 'v1', 'Namespace')).toBe('io.k8s.api.core.v1.Namespace');
    expect(definitionName('example.com', 'v1alpha1', 'Widget')).toBe('com.example.v1alpha1.Widget');
    expect(schemas['dev.berth.v1.Service']['x-kubernetes-group-version-kind']).toEqual([{ group: 'berth.dev', version: 'v1', kind: 'Service' }]);
    expect(schemas['dev.berth.v1.ServiceList']['x-kubernetes-group-version-kind']).toEqual([{ group: 'berth.dev', version: 'v1', kind: 'ServiceList' }]);
    expect((schemas['dev.berth.v1.Service'].properties as Record<string, { $ref?: string }>).metadata.$ref).toBe('#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
    for (const name of ['ObjectMeta', 'ListMeta', 'Status', 'StatusDetails', 'StatusCause', 'DeleteOptions', 'Patch', 'WatchEvent', 'OwnerReference', 'ManagedFieldsEntry']) {
      expect(schemas).toHaveProperty([`io.k8s.apimachinery.pkg.apis.meta.v1.${name}`]);
    }
    expect(schemas).toHaveProperty(['io.k8s.api.autoscaling.v1.Scale']);
  });

  it('keeps descriptions down to spec.strategy (kubectl explain service.spec.strategy)', () => {
    const svc = schemas['dev.berth.v1.Service'] as { properties: { spec: { properties: { strategy: { description: string; properties: Record<string, unknown> } } } } };
    const strategy = svc.properties.spec.properties.strategy;
    expect(strategy.description).toMatch(/replace replicas/);
    expect(Object.keys(strategy.properties).sort()).toEqual(['blueGreen', 'canary', 'rollingUpdate', 'type']);
  });

  it('publishes int-or-string fields as IntOrString references', () => {
    const ru = (schemas['dev.berth.v1.Service'] as any).properties.spec.properties.strategy.properties.rollingUpdate.properties.maxSurge;
    expect(ru.allOf).toEqual([{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString' }]);
  });

  it('indexes every group/version with a content hash that changes with the document', () => {
    const index = openApiV3Index(registry).paths as Record<string, { serverRelativeURL: string }>;
    expect(Object.keys(index).sort()).toEqual(expect.arrayContaining(['api/v1', 'apis/berth.dev/v1', 'apis/apiextensions.k8s.io/v1']));
    expect(index['apis/berth.dev/v1'].serverRelativeURL).toBe(`/openapi/v3/apis/berth.dev/v1?hash=${documentHash(doc)}`);
    const r2 = SchemaRegistry.withBuiltins();
    r2.addCrd(newWidgetCrd({ group: 'berth.dev' }));
    const index2 = openApiV3Index(r2).paths as Record<string, { serverRelativeURL: string }>;
    expect(index2['apis/berth.dev/v1'].serverRelativeURL).not.toBe(index['apis/berth.dev/v1'].serverRelativeURL);
    expect(index2['api/v1'].serverRelativeURL).toBe(index['api/v1'].serverRelativeURL);
  });
});

describe('OpenAPI v2', () => {
  const doc = openApiV2(registry);
  const definitions = doc.definitions as Record<string, Record<string, unknown>>;

  it('is one Swagger 2.0 document with every group', () => {
    expect(doc.swagger).toBe('2.0');
    expect(Object.keys(doc.paths as object)).toEqual(expect.arrayContaining(['/api/v1/namespaces', '/apis/berth.dev/v1/namespaces/{namespace}/services', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions']));
    expect(definitions).toHaveProperty(['dev.berth.v1.Container']);
    expect(definitions).toHaveProperty(['io.k8s.api.core.v1.Namespace']);
    expect(definitions).toHaveProperty(['io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition']);
  });

  it('contains no OpenAPI-3-only keywords and uses #/definitions references', () => {
    const text = JSON.stringify(doc);
    expect(text).not.toMatch(/"(anyOf|oneOf|allOf|nullable)"/);
    expect(text).not.toContain('#/components/');
    const post = (doc.paths as any)['/apis/berth.dev/v1/namespaces/{namespace}/containers'].post;
    expect(post.parameters).toContainEqual({ name: 'body', in: 'body', required: true, schema: { $ref: '#/definitions/dev.berth.v1.Container' } });
  });
});
