/**
 * The security acceptance lines of issues 2 and 8 against a real API server (createApp + SQLite + watch cache) wired
 * with createClusterSecurity and encryptedStorage, driven over HTTPS by raw requests and kubectl 1.32.
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ApiError, createApp } from '../../api';
import {
  createCertificateAuthority,
  issueClientCertificate,
  ensureNodeCredentials,
  getUser,
  JoinError,
  joinCluster,
  NodeCredentials,
  renewNodeCertificate,
  writeKubeconfig,
} from '../../api/auth';
import { attributesOf, ClusterSecurity, createClusterSecurity } from '../../api/authz';
import { encryptedStorage, KeyRing, reencryptAll, SEALED_FIELD } from '../../api/encryption';
import { SchemaRegistry } from '../../api/schema';
import { CachedStorage, SqliteStorage } from '../../api/storage';

const run = promisify(execFile);
const CANARY = 'sup3r-s3cret-canary-91c2';
const CANARY_B64 = Buffer.from(CANARY).toString('base64');
const B = '/apis/berth.dev/v1';
const RBAC = '/apis/rbac.authorization.k8s.io/v1';

interface Credentials {
  token?: string;
  cert?: { certPem: string; keyPem?: string };
}
interface Reply {
  status: number;
  body: any;
  text: string;
}

describe('cluster security over HTTPS', () => {
  let home: string;
  let backend: SqliteStorage;
  let storage: CachedStorage;
  let security: ClusterSecurity;
  let server: https.Server;
  let url: string;
  let admin: Credentials;

  const call = (method: string, p: string, who: Credentials, body?: unknown): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        `${url}${p}`,
        {
          method,
          ca: security.pki.ca.certPem,
          cert: who.cert?.certPem,
          key: who.cert?.keyPem,
          headers: {
            ...(who.token ? { authorization: `Bearer ${who.token}` } : {}),
            ...(body ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
          });
        },
      );
      req.on('error', reject);
      req.end(body ? JSON.stringify(body) : undefined);
    });

  const kubeconfigFor = (name: string, who: Credentials): string => {
    const file = path.join(home, `${name}.kubeconfig`);
    const user = who.token ? { token: who.token } : { certPem: who.cert!.certPem, keyPem: who.cert!.keyPem! };
    writeKubeconfig(file, { server: url, caPem: security.pki.ca.certPem, user });
    return file;
  };
  const kubectl = (kubeconfig: string, ...args: string[]) =>
    run('kubectl', ['--kubeconfig', kubeconfig, ...args]).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  const expectCreated = async (p: string, body: unknown) => {
    const reply = await call('POST', p, admin, body);
    expect([reply.status, reply.text]).toEqual([201, expect.any(String)]);
    return reply.body;
  };

  const bindClusterRole = (namespace: string, name: string, subject: Record<string, string>, clusterRole: string) =>
    expectCreated(`${RBAC}/namespaces/${namespace}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      subjects: [subject],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
    });

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-security-'));
    backend = new SqliteStorage(path.join(home, 'berth.db'));
    const encrypted = encryptedStorage(home, backend);
    storage = new CachedStorage(encrypted);
    security = createClusterSecurity({ home, storage, encryptionKeys: encrypted.keys, nodeContainerFinalizers: true });
    const api = createApp({
      storage,
      schemas: SchemaRegistry.withBuiltins(),
      guards: security.guards,
      admission: async (req, _info, _verb, obj) => {
        const refusal = await security.admit(getUser(req)!, attributesOf(req), obj);
        if (refusal) throw new ApiError(403, 'Forbidden', refusal, {});
      },
    });
    server = https.createServer(security.tlsOptions, api.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    admin = { token: security.adminToken };

    for (const ns of ['team-a', 'team-b']) await expectCreated('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    for (const ns of ['team-a', 'team-b']) {
      await expectCreated(`${B}/namespaces/${ns}/secrets`, {
        apiVersion: 'berth.dev/v1',
        kind: 'Secret',
        metadata: { name: 'db', namespace: ns },
        data: { password: CANARY_B64 },
      });
    }
    await expectCreated(`${B}/namespaces/team-b/secrets`, {
      apiVersion: 'berth.dev/v1',
      kind: 'Secret',
      metadata: { name: 'other', namespace: 'team-b' },
      stringData: { token: `${CANARY}-other` },
    });
    const container = (ns: string, name: string, node: string, secret: string) => ({
      apiVersion: 'berth.dev/v1',
      kind: 'Container',
      metadata: { name, namespace: ns },
      spec: { image: 'busybox:latest', nodeName: node, secrets: [{ name: secret }] },
    });
    await expectCreated(`${B}/namespaces/team-b/containers`, container('team-b', 'web', 'n1', 'db'));
    await expectCreated(`${B}/namespaces/team-b/containers`, container('team-b', 'worker', 'n2', 'other'));
    // Tenant alice may edit team-a only.
    await bindClusterRole('team-a', 'alice-edit', { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' }, 'edit');
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    security.close();
    await storage.close();
    fs.rmSync(home, { recursive: true, force: true });
    expect(fs.existsSync(home)).toBe(false);
  });

  describe('authentication (401 with nothing leaked)', () => {
    it.each([
      ['no credentials', () => ({})],
      ['a made-up token', () => ({ token: 'not-a-token' })],
      ['a forged service-account token', () => {
        const [h, p] = security.serviceAccounts.issue('team-a', 'ci').split('.');
        return { token: `${h}.${p}.${Buffer.alloc(32, 1).toString('base64url')}` };
      }],
      ['an expired service-account token', () => ({ token: security.serviceAccounts.issue('team-a', 'ci', { ttlSeconds: -1 }) })],
      ['a revoked token', () => {
        const entry = security.tokens.addToken({ username: 'mallory', groups: ['system:masters'] });
        security.tokens.revoke(entry.id);
        return { token: entry.token };
      }],
      ['a certificate from another CA', () => ({
        cert: issueClientCertificate(createCertificateAuthority('attacker-ca'), { commonName: 'admin', organizations: ['system:masters'] }),
      })],
    ])('%s → 401 Unauthorized Status', async (_what, who) => {
      const reply = await call('GET', `${B}/namespaces/team-b/secrets/db`, who());
      expect(reply.status).toBe(401);
      expect(reply.body).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    });

    it('kubectl auth whoami reports the identity from a client certificate, a token and a service-account token', async () => {
      const dave = { cert: issueClientCertificate(security.pki.ca, { commonName: 'dave', organizations: ['devs', 'ops'] }) };
      const asDave = await kubectl(kubeconfigFor('dave', dave), 'auth', 'whoami', '-o', 'json');
      expect(JSON.parse(asDave.stdout).status.userInfo).toEqual({ username: 'dave', groups: ['devs', 'ops', 'system:authenticated'] });
      const asAdmin = await kubectl(kubeconfigFor('admin', admin), 'auth', 'whoami', '-o', 'json');
      expect(JSON.parse(asAdmin.stdout).status.userInfo).toMatchObject({ username: 'admin', groups: ['system:masters', 'system:authenticated'] });
      const sa = await kubectl(kubeconfigFor('sa', { token: security.serviceAccounts.issue('team-a', 'bot') }), 'auth', 'whoami', '-o', 'json');
      expect(JSON.parse(sa.stdout).status.userInfo).toMatchObject({ username: 'system:serviceaccount:team-a:bot' });
    });

    it('kubectl with a kubeconfig for another CA\'s certificate is refused', async () => {
      const foreign = issueClientCertificate(createCertificateAuthority('attacker-ca'), { commonName: 'admin', organizations: ['system:masters'] });
      const result = await kubectl(kubeconfigFor('foreign', { cert: foreign }), 'get', 'secrets', '-n', 'team-b');
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/Unauthorized|must be logged in/);
      expect(result.stdout + result.stderr).not.toContain(CANARY_B64);
    });

    it('health endpoints stay open; the admin kubeconfig works with kubectl', async () => {
      expect((await call('GET', '/healthz', {})).status).toBe(200);
      expect((await call('GET', '/readyz', {})).status).toBe(200);
      const got = await kubectl(kubeconfigFor('admin', admin), 'get', 'secret', 'db', '-n', 'team-b', '-o', 'jsonpath={.data.password}');
      expect(got).toMatchObject({ code: 0, stdout: CANARY_B64 });
    });
  });

  describe('RBAC (403 for a tenant outside its namespace)', () => {
    const alice = () => ({ cert: issueClientCertificate(security.pki.ca, { commonName: 'alice', organizations: ['tenants'] }) });

    it('a tenant of namespace A works in A and gets 403 reading namespace B, with nothing of B in the answer', async () => {
      const who = alice();
      const created = await call('POST', `${B}/namespaces/team-a/containers`, who, {
        apiVersion: 'berth.dev/v1',
        kind: 'Container',
        metadata: { name: 'app', namespace: 'team-a' },
        spec: { image: 'busybox:latest' },
      });
      expect(created.status).toBe(201);
      expect((await call('GET', `${B}/namespaces/team-a/secrets/db`, who)).status).toBe(200);
      for (const p of [`${B}/namespaces/team-b/secrets/db`, `${B}/namespaces/team-b/secrets`, `${B}/secrets`, `${B}/namespaces/team-b/containers`]) {
        const reply = await call('GET', p, who);
        expect(reply.status).toBe(403);
        expect(reply.body).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
        expect(reply.text).not.toContain(CANARY_B64);
        expect(reply.text).not.toContain('worker');
      }
      expect((await call('DELETE', `${B}/namespaces/team-b/secrets/db`, who)).status).toBe(403);
      expect((await call('GET', `${B}/namespaces/team-b/secrets/db`, admin)).status).toBe(200);
    });

    it('kubectl auth can-i answers for the tenant from RBAC (SelfSubjectAccessReview as protobuf)', async () => {
      const config = kubeconfigFor('alice', alice());
      expect(await kubectl(config, 'auth', 'can-i', 'create', 'containers.berth.dev', '-n', 'team-a')).toMatchObject({ code: 0, stdout: 'yes\n' });
      expect(await kubectl(config, 'auth', 'can-i', 'get', 'secrets.berth.dev', '-n', 'team-b')).toMatchObject({ code: 1, stdout: 'no\n' });
      expect(await kubectl(kubeconfigFor('admin', admin), 'auth', 'can-i', 'delete', 'nodes.berth.dev')).toMatchObject({ code: 0, stdout: 'yes\n' });
      const listA = await kubectl(config, 'auth', 'can-i', '--list', '-n', 'team-a');
      expect(listA.code).toBe(0);
      expect(listA.stdout).toMatch(/containers\.berth\.dev\s+\[\]\s+\[\]\s+\[get list watch create update patch delete deletecollection\]/);
      const listB = await kubectl(config, 'auth', 'can-i', '--list', '-n', 'team-b');
      expect(listB.stdout).not.toContain('containers.berth.dev');
      expect(listB.stdout).toContain('selfsubjectaccessreviews.authorization.k8s.io');
      const forbidden = await kubectl(config, 'get', 'secrets.berth.dev', '-n', 'team-b');
      expect(forbidden.code).not.toBe(0);
      expect(forbidden.stderr).toContain('forbidden: User "alice" cannot list resource "secrets" in API group "berth.dev" in the namespace "team-b"');
    });

    it('kubectl --as impersonates for admins (so RBAC can be checked as a tenant), is refused to tenants, and is audited', async () => {
      const adminConfig = kubeconfigFor('admin', admin);
      expect(await kubectl(adminConfig, 'get', 'containers', '-n', 'team-a', '--as=alice')).toMatchObject({ code: 0 });
      const asAlice = await kubectl(adminConfig, 'get', 'secrets', '-n', 'team-b', '--as=alice');
      expect(asAlice.code).not.toBe(0);
      expect(asAlice.stderr).toContain('User "alice" cannot list resource "secrets"');
      expect(await kubectl(adminConfig, 'auth', 'can-i', 'get', 'secrets.berth.dev', '-n', 'team-b', '--as=alice')).toMatchObject({ stdout: 'no\n' });
      const whoami = await kubectl(adminConfig, 'auth', 'whoami', '-o', 'json', '--as=system:serviceaccount:team-a:bot');
      expect(JSON.parse(whoami.stdout).status.userInfo.groups).toEqual(['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated']);
      const tenant = kubeconfigFor('alice-imp', { cert: issueClientCertificate(security.pki.ca, { commonName: 'alice' }) });
      const refused = await kubectl(tenant, 'get', 'secrets', '-n', 'team-b', '--as=admin', '--as-group=system:masters');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('cannot impersonate resource "users"');
      const impersonatedWrite = await run('kubectl', ['--kubeconfig', adminConfig, 'delete', 'container', 'nope', '-n', 'team-a', '--as=alice']).catch((e) => e);
      expect(String(impersonatedWrite.stderr)).toContain('not found');
      const audit = fs.readFileSync(path.join(home, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(audit.some((l) => l.user === 'alice' && l.impersonatedBy === 'admin' && l.verb === 'delete')).toBe(true);
    });

    it('SubjectAccessReview: admins ask about others, tenants may not; bad reviews are 400/422', async () => {
      const sar = (user: string, namespace: string, resource: string) => ({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: { user, groups: ['tenants'], resourceAttributes: { namespace, verb: 'get', group: 'berth.dev', resource } },
      });
      const path = '/apis/authorization.k8s.io/v1/subjectaccessreviews';
      const yes = await call('POST', path, admin, sar('alice', 'team-a', 'containers'));
      expect(yes).toMatchObject({ status: 201, body: { kind: 'SubjectAccessReview', status: { allowed: true } } });
      const no = await call('POST', path, admin, sar('alice', 'team-b', 'secrets'));
      expect(no).toMatchObject({ status: 201, body: { status: { allowed: false } } });
      const alice = { cert: issueClientCertificate(security.pki.ca, { commonName: 'alice' }) };
      expect((await call('POST', path, alice, sar('bob', 'team-a', 'containers'))).status).toBe(403);
      expect((await call('POST', path, admin, { spec: { user: 'x' } })).status).toBe(422);
      expect((await call('POST', path, admin, { spec: { resourceAttributes: { verb: 'get' } } })).body).toMatchObject({ code: 422, reason: 'Invalid' });
    });

    it('a service account bound in its namespace reads it, and nothing else', async () => {
      await bindClusterRole('team-b', 'ci-view', { kind: 'ServiceAccount', name: 'ci' }, 'view');
      const ci = { token: security.serviceAccounts.issue('team-b', 'ci') };
      expect((await call('GET', `${B}/namespaces/team-b/containers`, ci)).status).toBe(200);
      expect((await call('GET', `${B}/namespaces/team-b/secrets/db`, ci)).status).toBe(403); // view excludes secrets
      expect((await call('GET', `${B}/namespaces/team-a/containers`, ci)).status).toBe(403);
    });
  });

  describe('service-account tokens from kubectl create token', () => {
    it('an admin mints a token for a service account; it authenticates as that account and RBAC applies', async () => {
      await bindClusterRole('team-b', 'deployer-view', { kind: 'ServiceAccount', name: 'deployer', namespace: 'team-b' }, 'view');
      const minted = await kubectl(kubeconfigFor('admin', admin), 'create', 'token', 'deployer', '-n', 'team-b', '--duration=20m');
      expect(minted.code).toBe(0);
      const token = minted.stdout.trim();
      const claims = security.serviceAccounts.verify(token);
      expect(claims).toMatchObject({ claims: { sub: 'system:serviceaccount:team-b:deployer' } });
      const { exp, iat } = (claims as { claims: { exp: number; iat: number } }).claims;
      expect(exp - iat).toBe(1200);
      expect((await call('GET', `${B}/namespaces/team-b/containers`, { token })).status).toBe(200);
      expect((await call('GET', `${B}/namespaces/team-a/containers`, { token })).status).toBe(403);
    });

    it('a tenant may mint tokens only in its own namespace', async () => {
      const config = kubeconfigFor('alice-token', { cert: issueClientCertificate(security.pki.ca, { commonName: 'alice' }) });
      expect((await kubectl(config, 'create', 'token', 'bot', '-n', 'team-a')).code).toBe(0);
      const refused = await kubectl(config, 'create', 'token', 'ci', '-n', 'team-b');
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('forbidden');
    });
  });

  describe('node authorizer', () => {
    const node = (name: string) => ({ cert: issueClientCertificate(security.pki.ca, { commonName: `system:node:${name}`, organizations: ['system:nodes'] }) });

    it('a node reads the secrets of containers bound to it and gets 403 for another node\'s', async () => {
      const n1 = node('n1');
      const mine = await call('GET', `${B}/namespaces/team-b/secrets/db`, n1);
      expect(mine.status).toBe(200);
      expect(mine.body.data.password).toBe(CANARY_B64);
      const theirs = await call('GET', `${B}/namespaces/team-b/secrets/other`, n1);
      expect(theirs.status).toBe(403);
      expect(theirs.text).not.toContain(CANARY);
      expect((await call('GET', `${B}/namespaces/team-b/secrets/other`, node('n2'))).status).toBe(200);
    });

    it('a node lists only its own containers and writes only their status', async () => {
      const n1 = node('n1');
      const own = await call('GET', `${B}/containers?fieldSelector=spec.nodeName%3Dn1`, n1);
      expect(own.status).toBe(200);
      expect(own.body.items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(['web']);
      expect((await call('GET', `${B}/containers`, n1)).status).toBe(403);
      expect((await call('GET', `${B}/containers?fieldSelector=spec.nodeName%3Dn2`, n1)).status).toBe(403);
      expect((await call('GET', `${B}/namespaces/team-b/containers/worker`, n1)).status).toBe(403);
      expect((await call('DELETE', `${B}/namespaces/team-b/containers/web`, n1)).status).toBe(403);
      const status = await call('PATCH', `${B}/namespaces/team-b/containers/worker/status`, n1, { status: { phase: 'Failed' } });
      expect(status.status).toBe(403);
    });
  });

  describe('node joining', () => {
    const asNode = (creds: NodeCredentials): Credentials => ({ cert: { certPem: creds.certPem, keyPem: creds.keyPem } });

    it('an agent joins with a token (CA pinned by fingerprint), works with its certificate, renews it, and is refused once revoked', async () => {
      const token = security.joinTokens.create('worker');
      const creds = await joinCluster({ server: url, token, nodeName: 'n1' });
      expect(creds.caPem).toBe(security.pki.ca.certPem);
      expect((creds.expires.getTime() - Date.now()) / 86400e3).toBeCloseTo(90, 0);
      // Its identity is system:node:n1: the node authorizer lets it read its container's secret, not another node's.
      expect((await call('GET', `${B}/namespaces/team-b/secrets/db`, asNode(creds))).status).toBe(200);
      expect((await call('GET', `${B}/namespaces/team-b/secrets/other`, asNode(creds))).status).toBe(403);
      // The join token is no credential for anything else.
      expect((await call('GET', `${B}/namespaces/team-b/secrets/db`, { token })).status).toBe(403);
      expect((await call('POST', '/join/v1/certificates', {}, { nodeName: 'sneaky', publicKeyPem: 'x' })).status).toBe(401);

      const renewed = await renewNodeCertificate(url, creds);
      expect(renewed.certPem).not.toBe(creds.certPem);
      expect(renewed.keyPem).not.toBe(creds.keyPem);
      expect((await call('GET', `${B}/namespaces/team-b/secrets/db`, asNode(renewed))).status).toBe(200);

      // `berth token rotate`: the old token no longer joins; the joined node keeps working.
      const next = security.joinTokens.rotate('worker');
      await expect(joinCluster({ server: url, token, nodeName: 'n3' })).rejects.toThrow('HTTP 401');
      expect((await call('GET', `${B}/namespaces/team-b/secrets/db`, asNode(renewed))).status).toBe(200);
      const n2 = await joinCluster({ server: url, token: next, nodeName: 'n2' });
      expect((await call('GET', `${B}/namespaces/team-b/secrets/other`, asNode(n2))).status).toBe(200);

      // Revoking the node refuses every certificate it was issued, and a new join under its name.
      expect(security.nodeCertificates.revokeNode('n1')).toBe(2);
      for (const c of [creds, renewed]) expect((await call('GET', `${B}/namespaces/team-b/secrets/db`, asNode(c))).status).toBe(401);
      await expect(renewNodeCertificate(url, renewed)).rejects.toThrow('HTTP 401');
      await expect(joinCluster({ server: url, token: next, nodeName: 'n1' })).rejects.toThrow('was revoked');
    });

    it('a joined agent does its whole job with its node certificate, and nothing more', async () => {
      const n7 = asNode(await joinCluster({ server: url, token: security.joinTokens.create('worker'), nodeName: 'n7' }));
      const expectStatus = async (method: string, p: string, body: unknown, status: number) =>
        expect([method, p, (await call(method, p, n7, body)).status]).toEqual([method, p, status]);
      await expectCreated(`${B}/namespaces/team-b/containers`, {
        apiVersion: 'berth.dev/v1',
        kind: 'Container',
        metadata: { name: 'job', namespace: 'team-b' },
        spec: { image: 'busybox:latest', nodeName: 'n7', secrets: [{ name: 'db' }] },
      });
      // Registration, heartbeat, the Lease namespace (as node-agent/agent does them).
      await expectStatus('POST', `${B}/nodes`, { apiVersion: 'berth.dev/v1', kind: 'Node', metadata: { name: 'n7' }, spec: {} }, 201);
      await expectStatus('POST', `${B}/nodes`, { apiVersion: 'berth.dev/v1', kind: 'Node', metadata: { name: 'not-me' }, spec: {} }, 403);
      await expectStatus('PATCH', `${B}/nodes/n7/status`, { status: {} }, 200);
      await expectStatus('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'berth-node-lease' } }, 201);
      await expectStatus('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'node-made' } }, 403);
      const lease = { apiVersion: 'berth.dev/v1', kind: 'Lease', metadata: { name: 'n7', namespace: 'berth-node-lease' }, spec: { holderIdentity: 'n7' } };
      await expectStatus('POST', `${B}/namespaces/berth-node-lease/leases`, lease, 201);
      await expectStatus('PATCH', `${B}/namespaces/berth-node-lease/leases/n7`, { spec: { holderIdentity: 'n7', leaseDurationSeconds: 40 } }, 200);
      // Its containers: watch them, read their secrets, report status, hold a finalizer.
      const listed = await call('GET', `${B}/containers?fieldSelector=spec.nodeName%3Dn7`, n7);
      expect(listed.body.items.map((c: { metadata: { name: string } }) => c.metadata.name)).toEqual(['job']);
      await expectStatus('GET', `${B}/namespaces/team-b/secrets/db`, undefined, 200);
      await expectStatus('PATCH', `${B}/namespaces/team-b/containers/job/status`, { status: { phase: 'Running' } }, 200);
      await expectStatus('PATCH', `${B}/namespaces/team-b/containers/job`, { metadata: { finalizers: ['berth.dev/agent'] } }, 200);
      // ...but never widen what it may read.
      await expectStatus('PATCH', `${B}/namespaces/team-b/containers/job`, { spec: { secrets: [{ name: 'db' }, { name: 'other' }] } }, 403);
      await expectStatus('GET', `${B}/namespaces/team-b/secrets/other`, undefined, 403);
      await expectStatus('PATCH', `${B}/namespaces/team-b/containers/job`, { metadata: { finalizers: [] } }, 200);
    });

    it('ensureNodeCredentials joins once, keeps credentials 0600, renews when two thirds of their life have passed', async () => {
      const dir = path.join(home, 'agent-n10');
      const token = security.joinTokens.create('worker');
      const joined = await ensureNodeCredentials({ server: url, dir, nodeName: 'n10', token });
      for (const f of ['ca.crt', 'node.crt', 'node.key']) expect(fs.statSync(path.join(dir, f)).mode & 0o777).toBe(0o600);
      expect(await ensureNodeCredentials({ server: url, dir, nodeName: 'n10' })).toMatchObject({ certPem: joined.certPem });
      const later = Date.now() + 61 * 86400e3;
      const renewed = await ensureNodeCredentials({ server: url, dir, nodeName: 'n10', now: later });
      expect(renewed.certPem).not.toBe(joined.certPem);
      expect(fs.readFileSync(path.join(dir, 'node.crt'), 'utf8')).toBe(renewed.certPem);
      expect((await call('GET', '/apis', asNode(renewed))).status).toBe(200);
      await expect(ensureNodeCredentials({ server: url, dir: path.join(home, 'agent-none'), nodeName: 'n11' })).rejects.toThrow('no join token');
    });

    it('bad join requests are 400/422, never 500', async () => {
      const token = security.joinTokens.create('worker');
      const raw = await new Promise<number>((resolve, reject) => {
        const req = https.request(`${url}/join/v1/certificates`, {
          method: 'POST',
          ca: security.pki.ca.certPem,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{"nodeName": "n8", ');
      });
      expect(raw).toBe(400);
      expect((await call('POST', '/join/v1/certificates', { token }, { publicKeyPem: 'x' })).status).toBe(422);
      expect((await call('POST', '/join/v1/certificates', { token }, { nodeName: 'n8', publicKeyPem: 'not a key' })).status).toBe(422);
      expect((await call('POST', '/join/v1/certificates', { token }, { nodeName: 'Not_A_Name', publicKeyPem: 'x' })).status).toBe(422);
    });

    it('a join token for another CA is refused before anything is sent', async () => {
      const token = security.joinTokens.create('worker').replace(/^BERTH-1-[0-9a-f]{64}/, `BERTH-1-${'0'.repeat(64)}`);
      await expect(joinCluster({ server: url, token, nodeName: 'n9' })).rejects.toThrow(JoinError);
      await expect(joinCluster({ server: url, token, nodeName: 'n9' })).rejects.toThrow('does not match the join token');
    });

    it('a node may not renew into another node\'s name and a tenant may not request node certificates', async () => {
      const alice = { cert: issueClientCertificate(security.pki.ca, { commonName: 'alice' }) };
      const reply = await call('POST', '/join/v1/certificates', alice, { nodeName: 'n5', publicKeyPem: 'x' });
      expect(reply.status).toBe(403);
      const worker = await joinCluster({ server: url, token: security.joinTokens.create('worker'), nodeName: 'n6' });
      const renewed = await renewNodeCertificate(url, worker);
      expect(new crypto.X509Certificate(renewed.certPem).subject).toBe('CN=system:node:n6\nO=system:nodes');
    });
  });

  describe('secrets at rest', () => {
    it('neither the SQLite file nor its WAL holds a secret\'s plaintext; the API serves it decrypted', async () => {
      const raw = fs
        .readdirSync(home)
        .filter((f) => f.startsWith('berth.db'))
        .map((f) => fs.readFileSync(path.join(home, f)).toString('latin1'))
        .join('');
      expect(raw).toContain('"name":"db"'); // the grep sees the store...
      expect(raw).not.toContain(CANARY); // ...and finds no secret value, raw or base64
      expect(raw).not.toContain(CANARY_B64);
      expect(raw).not.toContain(Buffer.from(`${CANARY}-other`).toString('base64'));
      expect((await backend.get('/registry/berth.dev/secrets/team-b/db'))[SEALED_FIELD]).toBeDefined();
    });

    it('rotation: a new key from `berth secrets reencrypt` (another process), every secret rewritten under it, old key pruned, kubectl still reads them', async () => {
      const ring = KeyRing.loadOrCreate(path.join(home, 'encryption-keys.json'));
      const oldKey = ring.activeKey().id;
      const newKey = ring.rotate();
      expect(await reencryptAll(storage)).toBe(3);
      const stored = await backend.list('/registry/berth.dev/secrets/');
      expect(stored.items.map((o) => (o[SEALED_FIELD] as { kid: string }).kid)).toEqual([newKey, newKey, newKey]);
      ring.prune();
      expect(ring.ids()).toEqual([newKey]);
      expect(oldKey).not.toBe(newKey);
      const got = await kubectl(kubeconfigFor('admin', admin), 'get', 'secrets', '-A', '-o', 'jsonpath={.items[*].data.password}');
      expect(got).toMatchObject({ code: 0, stdout: `${CANARY_B64} ${CANARY_B64}` });
      const created = await call('POST', `${B}/namespaces/team-a/secrets`, admin, { apiVersion: 'berth.dev/v1', kind: 'Secret', metadata: { name: 'after-rotation' }, stringData: { k: CANARY } });
      expect(created.status).toBe(201);
      expect(((await backend.get('/registry/berth.dev/secrets/team-a/after-rotation'))[SEALED_FIELD] as { kid: string }).kid).toBe(newKey);
    });

    it('`berth secrets reencrypt` over HTTP: admins rotate, re-encrypt and prune in one call; tenants get 403', async () => {
      const alice = { cert: issueClientCertificate(security.pki.ca, { commonName: 'alice' }) };
      expect((await call('POST', '/admin/v1/encryption/reencrypt?rotate=true', alice)).status).toBe(403);
      const reply = await call('POST', '/admin/v1/encryption/reencrypt?rotate=true&prune=true', admin);
      expect(reply.status).toBe(200);
      expect(reply.body).toEqual({ activeKey: expect.any(String), keys: [reply.body.activeKey], reencrypted: 4 });
      const stored = await backend.list('/registry/berth.dev/secrets/');
      expect(new Set(stored.items.map((o) => (o[SEALED_FIELD] as { kid: string }).kid))).toEqual(new Set([reply.body.activeKey]));
      expect((await call('GET', `${B}/namespaces/team-b/secrets/db`, admin)).body.data.password).toBe(CANARY_B64);
    });

    it('tampered ciphertext is reported as an error naming the secret, never returned as garbage (nor logged)', async () => {
      const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
      await backend.guaranteedUpdate('/registry/berth.dev/secrets/team-a/db', (o) => {
        const sealed = o[SEALED_FIELD] as { ct: string };
        const ct = Buffer.from(sealed.ct, 'base64');
        ct[ct.length - 1] ^= 1;
        return { ...o, [SEALED_FIELD]: { ...sealed, ct: ct.toString('base64') } };
      });
      const reply = await call('GET', `${B}/namespaces/team-a/secrets/db`, admin);
      expect(reply.status).toBe(500);
      expect(reply.body).toMatchObject({ kind: 'Status', code: 500 });
      expect(reply.body.message).toContain('cannot decrypt secret team-a/db');
      expect(reply.text).not.toContain(CANARY_B64);
      const logText = logged.mock.calls.map((args) => args.map((a) => (a instanceof Error ? `${a.message} ${String(a.cause)}` : String(a))).join(' ')).join('\n');
      logged.mockRestore();
      expect(logText).toContain('cannot decrypt secret team-a/db');
      expect(logText).not.toContain(CANARY);
      expect(logText).not.toContain(CANARY_B64);
    });
  });

  it('audits mutating and refused requests without secret payloads', () => {
    const log = fs.readFileSync(path.join(home, 'audit.log'), 'utf8');
    const lines = log.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.verb === 'create' && l.resource === 'secrets' && l.user === 'admin' && l.code === 201)).toBe(true);
    expect(lines.some((l) => l.code === 403 && l.user === 'alice' && l.namespace === 'team-b')).toBe(true);
    expect(lines.some((l) => l.code === 401)).toBe(true);
    expect(log).not.toContain(CANARY);
    expect(log).not.toContain(CANARY_B64);
  });
});
