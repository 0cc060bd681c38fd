/** Kubernetes REST semantics beyond plain CRUD, on both storage backends. */
import { RESOURCES, type KubeObject } from '../../client';
import { STORES, startApiServer, type TestApiServer } from '../helpers/apiserver';

const ctr = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({ metadata: { name, ...extra }, spec: { image: 'busybox' } });
/** A watch response's events: the client parses a one-line body as JSON, several lines stay text. */
const eventsOf = <T>(body: unknown): T[] =>
  typeof body === 'string' ? body.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as T) : [body as T];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(STORES)('API semantics on %s', (store) => {
  let api: TestApiServer;
  const path = (name?: string, sub?: string): string => api.client.path(RESOURCES.containers, 'default', name, sub);
  beforeAll(async () => {
    api = await startApiServer({ store });
  });
  afterAll(async () => {
    await api.stop();
  });

  it('When an object has a finalizer, Then delete only marks it, and removing the finalizer deletes it', async () => {
    await api.client.create(RESOURCES.containers, ctr('fin', { finalizers: ['example.com/hold'] }));
    const marked = await api.client.request('DELETE', path('fin'));
    expect(marked.status).toBe(202);
    const held = await api.client.get(RESOURCES.containers, 'fin');
    expect(held.metadata.deletionTimestamp).toBeTruthy();
    await api.client.patch(RESOURCES.containers, 'fin', { metadata: { finalizers: null } });
    expect((await api.client.request('GET', path('fin'))).status).toBe(404);
  });

  it('When an owner is deleted with propagationPolicy Orphan, Then its dependents stay, released', async () => {
    const owner = await api.client.create(RESOURCES.services, { metadata: { name: 'orph' }, spec: { template: { spec: { image: 'busybox' } } } });
    const ref = { apiVersion: 'berth.dev/v1', kind: 'Service', name: 'orph', uid: String(owner.metadata.uid) };
    await api.client.create(RESOURCES.containers, ctr('orph-dep', { ownerReferences: [ref] }));
    await api.client.delete(RESOURCES.services, 'orph', { propagationPolicy: 'Orphan' });
    for (let i = 0; i < 50 && (await api.client.request('GET', api.client.path(RESOURCES.services, 'default', 'orph'))).status !== 404; i++) await sleep(100);
    const dep = await api.client.get(RESOURCES.containers, 'orph-dep');
    expect(dep.metadata.ownerReferences).toBeUndefined();
  });

  it('When dryRun=All, Then nothing is stored but the answer is what would be', async () => {
    const r = await api.client.request('POST', path(), { body: ctr('dry'), query: { dryRun: 'All' } });
    expect(r.status).toBe(201);
    expect((await api.client.request('GET', path('dry'))).status).toBe(404);
  });

  it('When a body has an unknown field, Then Strict refuses it (400), Warn stores it with a Warning header', async () => {
    const body = { metadata: { name: 'unk' }, spec: { image: 'busybox', foo: 1 } };
    const strict = await api.client.request('POST', path(), { body, query: { fieldValidation: 'Strict' } });
    expect(strict.status).toBe(400);
    expect(JSON.stringify(strict.body)).toContain('unknown field \\"spec.foo\\"');
    const warn = await api.client.request('POST', path(), { body, query: { fieldValidation: 'Warn' } });
    expect(warn.status).toBe(201);
    expect(String(warn.headers.warning)).toBe('299 - "unknown field \\"spec.foo\\""');
    expect((warn.body as { spec: Record<string, unknown> }).spec.foo).toBeUndefined();
  });

  it('When a schema is violated, Then 422 names every offending field', async () => {
    const r = await api.client.request('POST', path(), { body: { metadata: { name: 'Bad_Name' }, spec: { restartPolicy: 'Sometimes' } } });
    expect(r.status).toBe(422);
    const fields = ((r.body as { details: { causes: Array<{ field: string }> } }).details.causes ?? []).map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining(['metadata.name', 'spec.image', 'spec.restartPolicy']));
  });

  it('When writing the main resource, Then status is ignored; when writing /status, Then only status changes', async () => {
    const created = await api.client.create(RESOURCES.containers, { ...ctr('st'), status: { phase: 'Running' } });
    expect(created.status).toBeUndefined();
    const withStatus = await api.client.updateStatus(RESOURCES.containers, { ...created, spec: { image: 'other' }, status: { phase: 'Running' } });
    expect(withStatus).toMatchObject({ spec: { image: 'busybox' }, status: { phase: 'Running' } });
    expect(withStatus.metadata.generation).toBe(1);
    const main = await api.client.update(RESOURCES.containers, { ...withStatus, status: { phase: 'Failed' } });
    expect(main.status).toEqual({ phase: 'Running' });
  });

  it('When generateName is used, Then a unique suffixed name is made', async () => {
    const a = await api.client.create(RESOURCES.containers, { metadata: { generateName: 'gen-' }, spec: { image: 'busybox' } });
    expect(a.metadata.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('When patches are malformed or unsupported, Then 422 / 415 / 400, never 500', async () => {
    await api.client.create(RESOURCES.containers, ctr('pt'));
    const failedTest = await api.client.request('PATCH', path('pt'), { body: [{ op: 'test', path: '/spec/image', value: 'nope' }], contentType: 'application/json-patch+json' });
    expect(failedTest.status).toBe(422);
    const smp = await api.client.request('PATCH', path('pt'), { body: { spec: {} }, contentType: 'application/strategic-merge-patch+json' });
    expect(smp.status).toBe(415);
    const laughs = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 9 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(',')}]`)].join('\n');
    const yaml = await api.client.request('POST', path(), { body: laughs, contentType: 'application/yaml' });
    expect(yaml.status).toBe(400);
  });

  it('When applying server-side, Then managedFields name the manager, and a dropped field is removed', async () => {
    const applied = { apiVersion: 'berth.dev/v1', kind: 'Container', metadata: { name: 'ssa-m', labels: { a: '1', b: '2' } }, spec: { image: 'busybox' } };
    const first = await api.client.apply(RESOURCES.containers, applied, { fieldManager: 'tool' });
    const entry = (first.metadata.managedFields as Array<{ manager: string; operation: string; fieldsV1: Record<string, unknown> }>).find((m) => m.manager === 'tool');
    expect(entry).toMatchObject({ operation: 'Apply', fieldsV1: { 'f:metadata': { 'f:labels': { 'f:a': {}, 'f:b': {} } }, 'f:spec': { 'f:image': {} } } });
    const second = await api.client.apply(RESOURCES.containers, { ...applied, metadata: { name: 'ssa-m', labels: { a: '1' } } }, { fieldManager: 'tool' });
    expect(second.metadata.labels).toEqual({ a: '1' });
  });

  it('When watching from a resourceVersion, Then only later events arrive, filtered by selector (leaving it = DELETED)', async () => {
    const start = (await api.client.list(RESOURCES.containers)).metadata.resourceVersion;
    const events: string[] = [];
    const handle = await api.client.watch(RESOURCES.containers, { resourceVersion: start, labelSelector: 'w=yes' }, (type, obj) => events.push(`${type}:${obj.metadata.name}`));
    await api.client.create(RESOURCES.containers, ctr('w1', { labels: { w: 'yes' } }));
    await api.client.create(RESOURCES.containers, ctr('w2', { labels: { w: 'no' } }));
    await api.client.patch(RESOURCES.containers, 'w1', { metadata: { labels: { w: 'no' } } });
    for (let i = 0; i < 50 && events.length < 2; i++) await sleep(50);
    handle.stop();
    expect(events).toEqual(['ADDED:w1', 'DELETED:w1']);
  });

  it('When a watch asks for a compacted resourceVersion, Then it gets a 410 Expired ERROR event', async () => {
    const old = (await api.client.create(RESOURCES.containers, ctr('cmp-1'))).metadata.resourceVersion;
    await api.client.create(RESOURCES.containers, ctr('cmp-2'));
    await api.server.storage.compact(await api.server.storage.currentRevision());
    const r = await api.client.request('GET', path(), { query: { watch: '1', resourceVersion: String(Number(old) - 1), timeoutSeconds: 2 } });
    const lines = eventsOf<{ type: string; object: { code: number; reason: string } }>(r.body);
    expect(lines[0]).toMatchObject({ type: 'ERROR', object: { code: 410, reason: 'Expired' } });
  });

  it('When sendInitialEvents with bookmarks, Then the initial state ends with an initial-events-end bookmark', async () => {
    const r = await api.client.request('GET', path(), { query: { watch: 'True', sendInitialEvents: 'true', allowWatchBookmarks: 'true', resourceVersionMatch: 'NotOlderThan', timeoutSeconds: 1 } });
    const lines = eventsOf<{ type: string; object: { metadata: { annotations?: Record<string, string> } } }>(r.body);
    const bookmark = lines.find((l) => l.type === 'BOOKMARK');
    expect(bookmark?.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    expect(lines.filter((l) => l.type === 'ADDED').length).toBeGreaterThan(3);
  });

  it('When deleting a collection by label, Then only matches go', async () => {
    await api.client.create(RESOURCES.containers, ctr('dc-1', { labels: { batch: 'x' } }));
    await api.client.create(RESOURCES.containers, ctr('dc-2', { labels: { batch: 'x' } }));
    await api.client.request('DELETE', path(), { query: { labelSelector: 'batch=x' } });
    expect((await api.client.list(RESOURCES.containers, { labelSelector: 'batch' })).items).toEqual([]);
    expect((await api.client.request('GET', path('pt'))).status).toBe(200);
  });

  it('When asked for a Table, Then rows carry the printer columns', async () => {
    const r = await api.client.request('GET', path(), { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
    const table = r.body as { kind: string; columnDefinitions: Array<{ name: string }>; rows: unknown[] };
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(expect.arrayContaining(['Name', 'Image']));
    expect(table.rows.length).toBeGreaterThan(0);
  });

  it('When a CRD is created through the API, Then its kind is served and validated at once', async () => {
    await api.client.create(RESOURCES.customResourceDefinitions, {
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer' } } } } } } }],
      },
    });
    const widgets = { group: 'example.com', version: 'v1', plural: 'widgets', kind: 'Widget', namespaced: true };
    const made = await api.client.create(widgets, { metadata: { name: 'w' }, spec: { size: 3 } });
    expect(made.kind).toBe('Widget');
    const bad = await api.client.request('POST', api.client.path(widgets, 'default'), { body: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'v' }, spec: {} } });
    expect(bad.status).toBe(422);
    const discovery = await api.client.call<{ resources: Array<{ name: string }> }>('GET', '/apis/example.com/v1');
    expect(discovery.resources.map((r) => r.name)).toContain('widgets');
  });

  it('When /metrics is scraped, Then request counts and latencies by verb, resource and code are there', async () => {
    const r = await api.client.request('GET', '/metrics');
    expect(String(r.body)).toMatch(/apiserver_request_total\{verb="create",resource="containers",code="201"\} \d+/);
    expect(String(r.body)).toContain('apiserver_request_duration_seconds_bucket');
    expect(String(r.body)).toContain('apiserver_storage_duration_seconds');
    expect(String(r.body)).toContain('apiserver_registered_watchers');
  });
});
