/** TLS, authentication, RBAC and encryption at rest as the running server wires them. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { TokenFileAuthenticator } from '../../api/auth';
import { ApiClient, RESOURCES } from '../../client';
import { startApiServer, type TestApiServer } from '../helpers/apiserver';

const run = promisify(execFile);

describe('API server authentication, authorization and encryption at rest', () => {
  let api: TestApiServer;
  beforeAll(async () => {
    api = await startApiServer();
  });
  afterAll(async () => {
    await api.stop();
  });

  it('When a user without RBAC grants writes, Then 403; when granted a Role, Then allowed', async () => {
    const entry = new TokenFileAuthenticator(path.join(api.home, 'tokens.json')).addToken({ username: 'alice' });
    const alice = new ApiClient({ ...api.client.config, token: entry.token });
    try {
      const denied = await alice.request('GET', alice.path(RESOURCES.containers, 'default'));
      expect(denied.status).toBe(403);
      expect(denied.body).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      await api.client.create({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', kind: 'Role', namespaced: true }, {
        metadata: { name: 'reader' },
        rules: [{ apiGroups: ['berth.dev'], resources: ['containers'], verbs: ['get', 'list', 'watch'] }],
      });
      await api.client.create({ group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', namespaced: true }, {
        metadata: { name: 'alice-reads' },
        subjects: [{ kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' }],
        roleRef: { kind: 'Role', name: 'reader', apiGroup: 'rbac.authorization.k8s.io' },
      });
      expect((await alice.request('GET', alice.path(RESOURCES.containers, 'default'))).status).toBe(200);
      expect((await alice.request('POST', alice.path(RESOURCES.containers, 'default'), { body: { metadata: { name: 'x' }, spec: { image: 'busybox' } } })).status).toBe(403);
    } finally {
      alice.close();
    }
  });

  it('When kubectl auth can-i asks, Then the server answers from RBAC', async () => {
    const { stdout } = await run('/usr/bin/kubectl', ['--kubeconfig', api.kubeconfigPath, 'auth', 'can-i', 'create', 'containers.berth.dev']);
    expect(stdout.trim()).toBe('yes');
  });

  it('When a Secret is stored, Then the database file never holds its plaintext', async () => {
    await api.client.create(RESOURCES.secrets, { metadata: { name: 'enc' }, stringData: { password: 'plaintext-canary-9f3a' } });
    const read = await api.client.get(RESOURCES.secrets, 'enc');
    expect(Buffer.from((read.data as Record<string, string>).password, 'base64').toString()).toBe('plaintext-canary-9f3a');
    const files = fs.readdirSync(api.home).filter((f) => f.startsWith('berth.db'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(fs.readFileSync(path.join(api.home, f)).includes('plaintext-canary-9f3a')).toBe(false);
  });
});
