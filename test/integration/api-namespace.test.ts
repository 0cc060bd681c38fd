import { RESOURCES } from '../../client';
import { STORES, startApiServer, type TestApiServer } from '../helpers/apiserver';

describe.each(STORES)('API server namespaces on %s', (store) => {
  let api: TestApiServer;
  beforeAll(async () => {
    api = await startApiServer({ store });
  });
  afterAll(async () => {
    await api.stop();
  });

  it('When the server starts, Then the default namespace exists and is Active', async () => {
    const ns = await api.client.get(RESOURCES.namespaces, 'default');
    expect(ns).toMatchObject({ kind: 'Namespace', status: { phase: 'Active' } });
  });

  it('When a namespace is created and deleted, Then it is Terminating and then gone', async () => {
    const created = await api.client.create(RESOURCES.namespaces, { metadata: { name: 'ns-life' } });
    expect(created.metadata.uid).toBeTruthy();
    await api.client.delete(RESOURCES.namespaces, 'ns-life');
    for (let i = 0; i < 50; i++) {
      const r = await api.client.request('GET', api.client.path(RESOURCES.namespaces, undefined, 'ns-life'));
      if (r.status === 404) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('namespace ns-life was never removed');
  });

  it('When a namespace with contents is deleted, Then its objects go, then the namespace; creating in a missing one is 404', async () => {
    await api.client.create(RESOURCES.namespaces, { metadata: { name: 'ns-full' } });
    await api.client.create(RESOURCES.containers, { metadata: { name: 'inside', namespace: 'ns-full' }, spec: { image: 'busybox' } });
    await api.client.delete(RESOURCES.namespaces, 'ns-full');
    // The namespace lifecycle check reads a watch-fed cache (as Kubernetes' admission does): it may lag the delete by
    // a moment on etcd, after which every create is refused.
    let refused = { status: 0 };
    for (let i = 0; i < 30 && ![403, 404].includes(refused.status); i++) {
      if (i > 0) await new Promise((res) => setTimeout(res, 100));
      refused = await api.client.request('POST', api.client.path(RESOURCES.containers, 'ns-full'), { body: { metadata: { name: `late-${i}` }, spec: { image: 'busybox' } } });
    }
    expect([403, 404]).toContain(refused.status);
    for (let i = 0; i < 50 && (await api.client.request('GET', api.client.path(RESOURCES.namespaces, undefined, 'ns-full'))).status !== 404; i++)
      await new Promise((res) => setTimeout(res, 100));
    expect((await api.client.request('GET', api.client.path(RESOURCES.containers, 'ns-full', 'inside'))).status).toBe(404);
    const missing = await api.client.request('POST', api.client.path(RESOURCES.containers, 'nowhere'), { body: { metadata: { name: 'x' }, spec: { image: 'busybox' } } });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "nowhere" not found' });
  });

  it('When deleting the default namespace, Then it is refused with 403', async () => {
    const r = await api.client.request('DELETE', api.client.path(RESOURCES.namespaces, undefined, 'default'));
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ reason: 'Forbidden', message: 'namespaces "default" is forbidden: this namespace may not be deleted' });
  });

  it('When a namespace name is not DNS-1123, Then the Status is a 422 naming metadata.name', async () => {
    const r = await api.client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'Bad_Name' } } });
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body)).toContain('metadata.name');
  });

  it('When the body is malformed JSON, Then 400; when it is too large, Then 413', async () => {
    const bad = await api.client.request('POST', '/api/v1/namespaces', { body: '{"metadata": ', contentType: 'application/json' });
    expect(bad.status).toBe(400);
    const big = await api.client.request('POST', '/api/v1/namespaces', { body: `{"x":"${'a'.repeat(3 * 1024 * 1024 + 10)}"}` });
    expect(big.status).toBe(413);
  });
});
