/**
 * A CustomResourceDefinition created through the API serves a new kind at run time — validated by its schema, listed
 * in discovery and OpenAPI, printed with its columns, with /status and /scale — and disappears when it is deleted.
 * Driven through the typed client and through the real kubectl.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUILTIN_CRD_DIR, type CustomResourceDefinition } from '../../api/schema';
import { ApiStatusError, RESOURCES, type KubeObject, type ResourceRef } from '../../client';
import { startApiServer, type TestApiServer } from '../helpers/apiserver';
import { newWidgetCrd } from '../unit/schema/crd-fixtures';

const GROUP = 'crdtest.example.com';
const WIDGETS: ResourceRef = { group: GROUP, version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };

// The client types objects as KubeObject; a CRD is one (its metadata.name is set).
const widgetCrd = newWidgetCrd({ group: GROUP }) as CustomResourceDefinition & KubeObject;

const statusError = async (p: Promise<unknown>): Promise<ApiStatusError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof ApiStatusError) return e;
    throw e;
  }
  throw new Error('expected the request to fail');
};

describe('a CRD created through the API', () => {
  let api: TestApiServer;
  // kubectl runs as a child process: the in-process server must keep serving meanwhile, so never execFileSync.
  const kubectl = (...args: string[]): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', api.kubeconfigPath, '--cache-dir', `${api.home}/kubectl-cache`, ...args], { encoding: 'utf8' }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
      );
    });

  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    await api.stop();
    expect(fs.existsSync(api.home)).toBe(false);
  });

  it('is refused with 422 naming the fields when the definition is invalid', async () => {
    const bad = structuredClone(widgetCrd);
    bad.metadata.name = 'wrong.name';
    bad.spec.versions[0].storage = false;
    const err = await statusError(api.client.create(RESOURCES.customResourceDefinitions, bad));
    expect(err.statusCode).toBe(422);
    expect(err.status.details?.causes?.map((c) => c.field)).toEqual(expect.arrayContaining(['metadata.name', 'spec.versions']));
  });

  it('serves a new kind, validated, in discovery, OpenAPI and kubectl, then removes it again', async () => {
    const created = await api.client.create<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>(RESOURCES.customResourceDefinitions, widgetCrd);
    expect(created.status?.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));

    // discovery and OpenAPI know it at once
    const resources = await kubectl('api-resources', '--api-group', GROUP);
    expect(resources.out).toMatch(/widgets\s+wd\s+crdtest\.example\.com\/v1\s+true\s+Widget/);
    const explain = await kubectl('explain', 'widgets.spec.color');
    expect(explain.code).toBe(0);
    expect(explain.out).toContain('Which colour.');

    // objects are validated by the CRD schema, defaulted and pruned
    const w = await api.client.create<KubeObject & { spec: Record<string, unknown> }>(WIDGETS, { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'w1', namespace: 'default' }, spec: { size: 3, replicas: 1 } });
    expect(w.spec).toEqual({ size: 3, replicas: 1, color: 'red' });
    const invalid = await statusError(api.client.create(WIDGETS, { metadata: { name: 'w2', namespace: 'default' }, spec: { size: 0, color: 'green' } }));
    expect(invalid.statusCode).toBe(422);
    expect(invalid.status.details?.causes?.map((c) => [c.field, c.reason])).toEqual([
      ['spec.size', 'FieldValueInvalid'],
      ['spec.color', 'FieldValueNotSupported'],
    ]);
    const strict = await statusError(api.client.create(WIDGETS, { metadata: { name: 'w3', namespace: 'default' }, spec: { size: 1, bogus: true } }, { fieldValidation: 'Strict' }));
    expect(strict.statusCode).toBe(400);
    expect(strict.status.message).toContain('unknown field "spec.bogus"');

    // printer columns through kubectl's Table request
    const table = await kubectl('get', 'widgets', '-n', 'default');
    expect(table.out).toMatch(/NAME\s+SIZE\s+COLOR\s+PHASE\s*\n\s*w1\s+3\s+red\s*\n/);

    // /status writes only status; the main resource ignores status
    const current = await api.client.get<KubeObject & { spec: { size: number } }>(WIDGETS, 'w1', 'default');
    await api.client.updateStatus(WIDGETS, { ...current, spec: { ...current.spec, size: 99 }, status: { phase: 'Shiny', replicas: 1, selector: 'app=w1' } });
    const afterStatus = await api.client.get<KubeObject & { spec: { size: number }; status: { phase: string } }>(WIDGETS, 'w1', 'default');
    expect(afterStatus.spec.size).toBe(3);
    expect(afterStatus.status.phase).toBe('Shiny');
    expect((await kubectl('get', 'wd', 'w1', '-n', 'default')).out).toMatch(/w1\s+3\s+red\s+Shiny/);

    // /scale maps onto spec.replicas / status.replicas / status.selector
    const scale = await api.client.call<{ kind: string; spec: { replicas: number }; status: { replicas: number; selector: string } }>('GET', `/apis/${GROUP}/v1/namespaces/default/widgets/w1/scale`);
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 1 }, status: { replicas: 1, selector: 'app=w1' } });
    const scaled = await kubectl('scale', '-n', 'default', 'widget/w1', '--replicas=4');
    expect(scaled.out).toContain('scaled');
    expect((await api.client.get<KubeObject & { spec: { replicas: number } }>(WIDGETS, 'w1', 'default')).spec.replicas).toBe(4);

    // deleting the CRD stops serving the kind
    await api.client.delete(RESOURCES.customResourceDefinitions, `widgets.${GROUP}`);
    await waitFor(async () => (await api.client.request('GET', `/apis/${GROUP}/v1`)).status === 404);
    expect((await api.client.request('GET', `/apis/${GROUP}/v1/namespaces/default/widgets`)).status).toBe(404);
    const groups = await api.client.call<{ groups: Array<{ name: string }> }>('GET', '/apis');
    expect(groups.groups.map((g) => g.name)).not.toContain(GROUP);
    const index = await api.client.call<{ paths: Record<string, unknown> }>('GET', '/openapi/v3');
    expect(Object.keys(index.paths)).not.toContain(`apis/${GROUP}/v1`);
  });

  it('keeps serving built-in kinds: their CRDs cannot be changed through the API', async () => {
    const changed = { ...widgetCrd, metadata: { name: 'containers.berth.dev' }, spec: { ...widgetCrd.spec, group: 'berth.dev', names: { kind: 'Container', plural: 'containers' } } };
    const err = await statusError(api.client.create(RESOURCES.customResourceDefinitions, changed));
    expect(err.statusCode).toBe(422);
    expect(err.status.details?.causes?.map((c) => [c.field, c.reason])).toEqual([['spec', 'FieldValueForbidden']]);
    const served = (await api.client.call<{ resources: Array<{ name: string; kind: string }> }>('GET', '/apis/berth.dev/v1')).resources;
    expect(served).toContainEqual(expect.objectContaining({ name: 'containers', kind: 'Container' }));
  });

  it('accepts the built-in CRD manifests unchanged, and keeps their kinds served when those objects are deleted', async () => {
    const file = path.join(BUILTIN_CRD_DIR, 'containers.yaml');
    const applied = await kubectl('apply', '-f', file);
    expect(applied.out).toContain('customresourcedefinition.apiextensions.k8s.io/containers.berth.dev');
    expect(applied.code).toBe(0);
    expect((await kubectl('delete', 'crd', 'containers.berth.dev')).code).toBe(0);
    const created = await api.client.create(RESOURCES.containers, { metadata: { name: 'still-here', namespace: 'default' }, spec: { image: 'busybox' } });
    expect(created.metadata?.name).toBe('still-here');
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
