import { RESOURCES, ApiStatusError, type Container } from '../../client';
import { STORES, startApiServer, type TestApiServer } from '../helpers/apiserver';

const newContainer = (name: string, labels: Record<string, string> = {}): Container => ({
  metadata: { name, labels },
  spec: { image: 'busybox:1.36', command: ['sleep', '3600'] },
});

describe.each(STORES)('API server CRUD on %s', (store) => {
  let api: TestApiServer;
  beforeAll(async () => {
    api = await startApiServer({ store });
  });
  afterAll(async () => {
    await api.stop();
  });

  it('When a container is created, Then it gets uid, creationTimestamp, generation 1 and a resourceVersion', async () => {
    const created = await api.client.create(RESOURCES.containers, newContainer('crud-a'));
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.resourceVersion).toMatch(/^[0-9]+$/);
    const got = await api.client.get<Container>(RESOURCES.containers, 'crud-a');
    expect(got.spec.image).toBe('busybox:1.36');
  });

  it('When a spec changes, Then generation is bumped; label changes do not bump it', async () => {
    const c = await api.client.create(RESOURCES.containers, newContainer('crud-gen'));
    const labelled = await api.client.patch(RESOURCES.containers, 'crud-gen', { metadata: { labels: { a: 'b' } } });
    expect(labelled.metadata.generation).toBe(1);
    const changed = await api.client.patch<Container>(RESOURCES.containers, 'crud-gen', { spec: { image: 'busybox:1.37' } });
    expect(changed.metadata.generation).toBe(2);
    expect(Number(changed.metadata.resourceVersion)).toBeGreaterThan(Number(c.metadata.resourceVersion));
  });

  it('When an update carries a stale resourceVersion, Then it is a 409 Conflict Status', async () => {
    const c = await api.client.create(RESOURCES.containers, newContainer('crud-stale'));
    await api.client.patch(RESOURCES.containers, 'crud-stale', { metadata: { labels: { x: 'y' } } });
    const err = await api.client.update(RESOURCES.containers, c).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiStatusError);
    expect((err as ApiStatusError).statusCode).toBe(409);
    expect((err as ApiStatusError).status.reason).toBe('Conflict');
  });

  it('When a missing object is read, Then the Status is a 404 NotFound naming it', async () => {
    const res = await api.client.request('GET', api.client.path(RESOURCES.containers, 'default', 'nope'));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404, message: 'containers.berth.dev "nope" not found', details: { name: 'nope', group: 'berth.dev', kind: 'containers' } });
  });

  it('When listing with a label selector and limit, Then only matches come back, page by page', async () => {
    for (const i of [1, 2, 3]) await api.client.create(RESOURCES.containers, newContainer(`crud-sel-${i}`, { tier: i === 3 ? 'db' : 'web' }));
    const web = await api.client.list(RESOURCES.containers, { labelSelector: 'tier in (web)' });
    expect(web.items.map((i) => i.metadata.name).sort()).toEqual(['crud-sel-1', 'crud-sel-2']);
    const page1 = await api.client.list(RESOURCES.containers, { labelSelector: 'tier', limit: 2 });
    expect(page1.items).toHaveLength(2);
    expect(page1.metadata.continue).toBeTruthy();
    const page2 = await api.client.list(RESOURCES.containers, { labelSelector: 'tier', limit: 2, continue: page1.metadata.continue });
    expect(page2.items.map((i) => i.metadata.name)).toEqual(['crud-sel-3']);
    const byName = await api.client.list(RESOURCES.containers, { fieldSelector: 'metadata.name=crud-sel-2' });
    expect(byName.items.map((i) => i.metadata.name)).toEqual(['crud-sel-2']);
  });

  it('When deleting, Then the object is gone', async () => {
    await api.client.create(RESOURCES.containers, newContainer('crud-del'));
    await api.client.delete(RESOURCES.containers, 'crud-del');
    await expect(api.client.get(RESOURCES.containers, 'crud-del')).rejects.toMatchObject({ statusCode: 404 });
  });

  it('When the request has no credentials, Then it is a 401', async () => {
    const res = await fetch(`${api.url}/apis/berth.dev/v1/containers`).catch((e: unknown) => e);
    // Node's fetch does not trust our CA; an unauthenticated request with the CA is made through the client below.
    expect(res).toBeDefined();
    const anon = new (api.client.constructor as typeof import('../../client').ApiClient)({ ...api.client.config, token: undefined });
    const r = await anon.request('GET', '/apis/berth.dev/v1/containers');
    anon.close();
    expect(r.status).toBe(401);
  });
});
