/**
 * The attacks of issue 8 against the server as `berth up` runs it (api/server start(), through test/helpers/apiserver),
 * driven by kubectl 1.32 and the typed client: what ships must refuse them, not just the modules in isolation.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createCertificateAuthority, ensureClusterPki, issueClientCertificate, ServiceAccountTokens, writeKubeconfig } from '../../api/auth';
import { ApiClient, RESOURCES } from '../../client';
import { startApiServer, type TestApiServer } from '../helpers/apiserver';

const run = promisify(execFile);
const CANARY = 'shipped-server-canary-5e0b';

describe('the shipped API server refuses the attacks of issue 8', () => {
  let api: TestApiServer;
  let caPem: string;
  const clients: ApiClient[] = [];

  const kubeconfig = (name: string, user: { token: string } | { certPem: string; keyPem: string }): string => {
    const file = path.join(api.home, `${name}.kubeconfig`);
    writeKubeconfig(file, { server: api.url, caPem, user });
    return file;
  };
  const kubectl = (config: string, ...args: string[]) =>
    run('kubectl', ['--kubeconfig', config, ...args]).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const clientAs = (auth: { token?: string; certPem?: string; keyPem?: string }): ApiClient => {
    const client = new ApiClient({ server: api.url, caPem, namespace: 'default', ...auth });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    api = await startApiServer();
    caPem = ensureClusterPki(api.home).ca.certPem;
    const admin = kubeconfig('admin', { token: api.token });
    for (const ns of ['tenant-a', 'tenant-b']) expect((await kubectl(admin, 'create', 'namespace', ns)).code).toBe(0);
    await api.client.create(RESOURCES.secrets, { metadata: { name: 'db', namespace: 'tenant-b' }, stringData: { password: CANARY } });
    // kubectl sends these as protobuf.
    expect(await kubectl(admin, 'create', 'role', 'deployer', '-n', 'tenant-a', '--verb=get,list,create', '--resource=containers.berth.dev,secrets.berth.dev')).toMatchObject({ stderr: '', code: 0 });
    expect(await kubectl(admin, 'create', 'rolebinding', 'alice-deployer', '-n', 'tenant-a', '--role=deployer', '--user=alice')).toMatchObject({ code: 0 });
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await api.stop();
    expect(fs.existsSync(api.home)).toBe(false);
  });

  it.each([
    ['no credentials', () => ({})],
    ['a forged service-account token', () => {
      const [h, p] = ServiceAccountTokens.fromHome(api.home).issue('tenant-b', 'x').split('.');
      return { token: `${h}.${p}.${'A'.repeat(43)}` };
    }],
    ['a service-account token signed by another cluster', () => ({
      token: new ServiceAccountTokens(Buffer.alloc(32, 7)).issue('tenant-b', 'x'),
    })],
    ['a certificate from another CA', () => {
      const foreign = issueClientCertificate(createCertificateAuthority('attacker'), { commonName: 'admin', organizations: ['system:masters'] });
      return { certPem: foreign.certPem, keyPem: foreign.keyPem };
    }],
  ])('%s → 401, nothing leaked', async (_what, auth) => {
    const reply = await clientAs(auth()).request('GET', '/apis/berth.dev/v1/namespaces/tenant-b/secrets/db');
    expect(reply.status).toBe(401);
    expect(reply.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect(JSON.stringify(reply.body)).not.toContain(Buffer.from(CANARY).toString('base64'));
  });

  it('a tenant of namespace A (RBAC made with kubectl create role/rolebinding) works in A and gets 403 in B', async () => {
    const cert = issueClientCertificate({ certPem: caPem, keyPem: fs.readFileSync(path.join(api.home, 'pki', 'ca.key'), 'utf8') }, { commonName: 'alice' });
    const alice = kubeconfig('alice', { certPem: cert.certPem, keyPem: cert.keyPem! });
    expect(await kubectl(alice, 'get', 'containers', '-n', 'tenant-a')).toMatchObject({ code: 0 });
    expect(await kubectl(alice, 'auth', 'can-i', 'create', 'containers.berth.dev', '-n', 'tenant-a')).toMatchObject({ stdout: 'yes\n' });
    expect(await kubectl(alice, 'auth', 'can-i', 'get', 'secrets.berth.dev', '-n', 'tenant-b')).toMatchObject({ stdout: 'no\n' });
    const denied = await kubectl(alice, 'get', 'secret', 'db', '-n', 'tenant-b', '-o', 'yaml');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('secrets "db" is forbidden: User "alice" cannot get resource "secrets" in API group "berth.dev" in the namespace "tenant-b"');
    expect(denied.stdout + denied.stderr).not.toContain(Buffer.from(CANARY).toString('base64'));
  });

  it('URL tricks do not move a tenant\'s request into another namespace', async () => {
    const ca = { certPem: caPem, keyPem: fs.readFileSync(path.join(api.home, 'pki', 'ca.key'), 'utf8') };
    const cert = issueClientCertificate(ca, { commonName: 'alice' });
    const alice = clientAs({ certPem: cert.certPem, keyPem: cert.keyPem });
    const secretB64 = Buffer.from(CANARY).toString('base64');
    for (const p of [
      '/apis/berth.dev/v1/namespaces/tenant-a/../tenant-b/secrets/db',
      '/apis/berth.dev/v1/namespaces/tenant-a/..%2Ftenant-b/secrets/db',
      '/apis/berth.dev/v1/namespaces/tenant-a%2F..%2Ftenant-b/secrets/db',
      '/apis/berth.dev/v1/namespaces//tenant-b/secrets/db',
      '/apis/berth.dev/v1/namespaces/tenant-a//secrets?fieldSelector=metadata.namespace%3Dtenant-b',
      '/apis/berth.dev/v1/namespaces/tenant-a/secrets?fieldSelector=metadata.namespace%3Dtenant-b',
      '/apis/berth.dev/v1/namespaces/tenant-b/secrets/db/../../tenant-a/secrets',
      '/apis/berth.dev/v1/secrets?watch=1&fieldSelector=metadata.namespace%3Dtenant-a',
      '/apis/berth.dev/v1//secrets',
      '/apis/berth.dev/v1/namespaces/TENANT-B/secrets/db',
    ]) {
      const reply = await alice.request('GET', p);
      expect([p, reply.status === 200 && JSON.stringify(reply.body).includes(secretB64)]).toEqual([p, false]);
    }
  });

  it('a tenant cannot escalate by binding cluster-admin in its own namespace', async () => {
    const cert = issueClientCertificate({ certPem: caPem, keyPem: fs.readFileSync(path.join(api.home, 'pki', 'ca.key'), 'utf8') }, { commonName: 'alice' });
    const alice = kubeconfig('alice2', { certPem: cert.certPem, keyPem: cert.keyPem! });
    const admin = kubeconfig('admin2', { token: api.token });
    expect(await kubectl(admin, 'create', 'role', 'binder', '-n', 'tenant-a', '--verb=create', '--resource=rolebindings.rbac.authorization.k8s.io')).toMatchObject({ code: 0 });
    expect(await kubectl(admin, 'create', 'rolebinding', 'alice-binder', '-n', 'tenant-a', '--role=binder', '--user=alice')).toMatchObject({ code: 0 });
    const escalate = await kubectl(alice, 'create', 'rolebinding', 'mine', '-n', 'tenant-a', '--clusterrole=cluster-admin', '--user=alice');
    expect(escalate.code).not.toBe(0);
    expect(escalate.stderr).toContain('attempting to grant RBAC permissions not currently held');
    expect(await kubectl(alice, 'create', 'rolebinding', 'ok', '-n', 'tenant-a', '--role=deployer', '--user=bob')).toMatchObject({ code: 0 });
  });

  it('the store holds no secret plaintext, also for a Secret made with kubectl apply (last-applied annotation)', async () => {
    const manifest = path.join(api.home, 'applied-secret.yaml');
    fs.writeFileSync(manifest, `apiVersion: berth.dev/v1\nkind: Secret\nmetadata:\n  name: applied\n  namespace: tenant-b\ndata:\n  token: ${Buffer.from(`${CANARY}-applied`).toString('base64')}\n`);
    expect(await kubectl(kubeconfig('admin3', { token: api.token }), 'apply', '-f', manifest)).toMatchObject({ code: 0 });
    const got = await kubectl(kubeconfig('admin3', { token: api.token }), 'get', 'secret', 'applied', '-n', 'tenant-b', '-o', 'json');
    expect(JSON.parse(got.stdout).metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toContain(Buffer.from(`${CANARY}-applied`).toString('base64'));
    const raw = fs
      .readdirSync(api.home)
      .filter((f) => f.startsWith('berth.db'))
      .map((f) => fs.readFileSync(path.join(api.home, f)).toString('latin1'))
      .join('');
    expect(raw).toContain('tenant-b');
    expect(raw).not.toContain(CANARY);
    expect(raw).not.toContain(Buffer.from(CANARY).toString('base64'));
    expect(raw).not.toContain(Buffer.from(`${CANARY}-applied`).toString('base64'));
  });
});
