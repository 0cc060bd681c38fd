/**
 * The auth middlewares on a real HTTPS server, driven by real clients: kubectl 1.32 and @kubernetes/client-node
 * with kubeconfigs from writeKubeconfig, and raw TLS requests with foreign certificates and forged tokens.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import express from 'express';
import {
  AuditLog,
  auditMiddleware,
  authenticationMiddleware,
  ClientCertificateAuthenticator,
  createCertificateAuthority,
  ensureClusterPki,
  getUser,
  issueClientCertificate,
  ServiceAccountTokens,
  tlsServerOptions,
  TokenFileAuthenticator,
  UnionAuthenticator,
  writeKubeconfig,
} from '../../../api/auth';
import { attributesOf, authorizationMiddleware, RbacAuthorizer } from '../../../api/authz';

const run = promisify(execFile);

interface Reply {
  status: number;
  body: any;
}

describe('authentication over HTTPS', () => {
  let home: string;
  let server: https.Server;
  let url: string;
  let pki: ReturnType<typeof ensureClusterPki>;
  let adminToken: string;
  let sa: ServiceAccountTokens;
  let audit: AuditLog;

  beforeAll(async () => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-authhttp-'));
    pki = ensureClusterPki(home);
    const tokens = new TokenFileAuthenticator(path.join(home, 'tokens.json'));
    adminToken = tokens.ensureAdminToken();
    sa = ServiceAccountTokens.fromHome(home);
    const authenticator = new UnionAuthenticator([new ClientCertificateAuthenticator(pki.ca.certPem), tokens, sa]);
    const rbac = new RbacAuthorizer((kind, ns) =>
      kind === 'RoleBinding' && ns === 'team-a'
        ? [{ metadata: { name: 'ops-edit', namespace: 'team-a' }, subjects: [{ kind: 'ServiceAccount', name: 'ops' }], roleRef: { kind: 'ClusterRole', name: 'edit' } }]
        : [],
    );
    audit = new AuditLog(path.join(home, 'audit.log'));
    const app = express();
    app.use(auditMiddleware(audit, attributesOf));
    app.use(authenticationMiddleware(authenticator));
    app.use(authorizationMiddleware(rbac));
    app.get('/version', (_req, res) => res.json({ major: '1', minor: '32', gitVersion: 'v1.32.0-berth' }));
    app.post('/apis/berth.dev/v1/namespaces/:ns/secrets', express.json(), (req, res) => res.status(201).json({ created: true }));
    app.use((req, res) => res.json({ kind: 'Echo', user: getUser(req) }));
    server = https.createServer(tlsServerOptions(pki), app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    audit.close();
    fs.rmSync(home, { recursive: true, force: true });
    expect(fs.existsSync(home)).toBe(false);
  });

  function request(p: string, opts: { token?: string; cert?: { certPem: string; keyPem?: string }; method?: string; body?: unknown } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${url}${p}`,
        {
          method: opts.method ?? 'GET',
          ca: pki.ca.certPem,
          cert: opts.cert?.certPem,
          key: opts.cert?.keyPem,
          headers: {
            ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
            ...(opts.body ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.end(opts.body ? JSON.stringify(opts.body) : undefined);
    });
  }

  it('answers 401 Unauthorized Status without credentials, with a forged token, and with a certificate from another CA', async () => {
    const unauthorized = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 };
    const forged = sa.issue('team-a', 'ops').slice(0, -4) + 'AAAA';
    const foreign = issueClientCertificate(createCertificateAuthority('evil'), { commonName: 'admin', organizations: ['system:masters'] });
    for (const reply of [
      await request('/apis/berth.dev/v1/containers'),
      await request('/apis/berth.dev/v1/containers', { token: forged }),
      await request('/apis/berth.dev/v1/containers', { token: 'guessed' }),
      await request('/apis/berth.dev/v1/containers', { cert: foreign }),
      await request('/healthz', { token: forged }),
    ]) {
      expect(reply).toEqual({ status: 401, body: unauthorized });
    }
  });

  it('lets anyone read /healthz, /readyz, /livez and /version, but not /metrics', async () => {
    expect((await request('/healthz')).status).toBe(200);
    expect((await request('/readyz')).status).toBe(200);
    expect((await request('/livez')).status).toBe(200);
    expect((await request('/version')).body.gitVersion).toBe('v1.32.0-berth');
    expect((await request('/metrics')).status).toBe(401);
  });

  it('authenticates the admin token, client certificates and service-account tokens; RBAC decides the rest', async () => {
    expect((await request('/apis/berth.dev/v1/containers', { token: adminToken })).body.user).toMatchObject({ username: 'admin' });
    const alice = issueClientCertificate(pki.ca, { commonName: 'alice', organizations: ['dev'] });
    const asAlice = await request('/apis', { cert: alice });
    expect(asAlice).toMatchObject({ status: 200, body: { user: { username: 'alice', groups: ['dev', 'system:authenticated'] } } });
    // alice is authenticated but nothing grants her containers: 403 naming what she asked, nothing more.
    const denied = await request('/apis/berth.dev/v1/namespaces/team-b/containers/web', { cert: alice });
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
    expect(denied.body.message).toContain('containers "web" is forbidden: User "alice" cannot get resource "containers" in API group "berth.dev" in the namespace "team-b"');

    const ops = sa.issue('team-a', 'ops');
    expect((await request('/apis/berth.dev/v1/namespaces/team-a/containers', { token: ops })).status).toBe(200);
    expect((await request('/apis/berth.dev/v1/namespaces/team-b/containers', { token: ops })).status).toBe(403);
    const created = await request('/apis/berth.dev/v1/namespaces/team-a/secrets', {
      token: ops,
      method: 'POST',
      body: { metadata: { name: 'db' }, stringData: { password: 'hunter2-audit-canary' } },
    });
    expect(created.status).toBe(201);
  });

  it('writes an audit line for each mutating or refused request, without bodies or tokens', async () => {
    const lines = fs.readFileSync(path.join(home, 'audit.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const create = lines.find((l) => l.verb === 'create');
    expect(create).toMatchObject({
      user: 'system:serviceaccount:team-a:ops',
      verb: 'create',
      apiGroup: 'berth.dev',
      resource: 'secrets',
      namespace: 'team-a',
      code: 201,
    });
    expect(Date.parse(create.time)).toBeGreaterThan(Date.now() - 60_000);
    expect(lines.some((l) => l.code === 401 && l.reason === 'invalid token signature')).toBe(true);
    expect(lines.some((l) => l.code === 403 && l.user === 'alice')).toBe(true);
    expect(lines.some((l) => l.path === '/version')).toBe(false); // a successful read is not audited
    const raw = fs.readFileSync(path.join(home, 'audit.log'), 'utf8');
    expect(raw).not.toContain('hunter2-audit-canary');
    expect(raw).not.toContain(adminToken);
    expect(fs.statSync(path.join(home, 'audit.log')).mode & 0o777).toBe(0o600);
  });

  it('ignores audit writes after close (a response finishing during shutdown must not crash the server)', () => {
    const file = path.join(home, 'closed-audit.log');
    const log = new AuditLog(file);
    log.close();
    expect(() => log.write({ time: '', user: 'u', groups: [], verb: 'create', method: 'POST', path: '/x', code: 201 })).not.toThrow();
    expect(fs.readFileSync(file, 'utf8')).toBe('');
  });

  it('rotates the audit log by size, keeping a bounded number of 0600 backups', () => {
    const file = path.join(home, 'rotating-audit.log');
    const log = new AuditLog(file, { maxBytes: 400, backups: 2 });
    for (let i = 0; i < 20; i++) log.write({ time: `t${i}`, user: 'u', groups: [], verb: 'create', method: 'POST', path: `/x/${i}`, code: 201 });
    log.close();
    const files = fs.readdirSync(home).filter((f) => f.startsWith('rotating-audit.log')).sort();
    expect(files).toEqual(['rotating-audit.log', 'rotating-audit.log.1', 'rotating-audit.log.2']);
    for (const f of files) {
      expect(fs.statSync(path.join(home, f)).size).toBeLessThanOrEqual(400);
      expect(fs.statSync(path.join(home, f)).mode & 0o777).toBe(0o600);
    }
    const newest = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(newest[newest.length - 1].path).toBe('/x/19');
    expect(fs.readFileSync(`${file}.1`, 'utf8')).toContain('"time":"t');
  });

  it('writes kubeconfigs (token and client certificate, mode 0600) that kubectl 1.32 uses', async () => {
    const tokenConfig = path.join(home, 'admin.kubeconfig');
    writeKubeconfig(tokenConfig, { server: url, caPem: pki.ca.certPem, user: { token: adminToken }, namespace: 'team-a' });
    expect(fs.statSync(tokenConfig).mode & 0o777).toBe(0o600);
    const viaToken = await run('kubectl', ['--kubeconfig', tokenConfig, 'get', '--raw', '/apis/berth.dev/v1/containers']);
    expect(JSON.parse(viaToken.stdout).user.username).toBe('admin');

    const bob = issueClientCertificate(pki.ca, { commonName: 'bob', organizations: ['system:masters'] });
    const certConfig = path.join(home, 'bob.kubeconfig');
    writeKubeconfig(certConfig, { server: url, caPem: pki.ca.certPem, user: { certPem: bob.certPem, keyPem: bob.keyPem! }, context: 'bob' });
    const viaCert = await run('kubectl', ['--kubeconfig', certConfig, 'get', '--raw', '/apis/berth.dev/v1/nodes']);
    expect(JSON.parse(viaCert.stdout).user).toMatchObject({ username: 'bob', groups: ['system:masters', 'system:authenticated'] });

    const wrong = path.join(home, 'wrong.kubeconfig');
    writeKubeconfig(wrong, { server: url, caPem: pki.ca.certPem, user: { token: 'nope' } });
    await expect(run('kubectl', ['--kubeconfig', wrong, 'get', '--raw', '/apis/berth.dev/v1/nodes'])).rejects.toMatchObject({
      stderr: expect.stringContaining('Unauthorized'),
    });
  });

  it('writes kubeconfigs that @kubernetes/client-node loads and uses', async () => {
    const file = path.join(home, 'client-node.kubeconfig');
    const carol = issueClientCertificate(pki.ca, { commonName: 'carol', organizations: ['system:masters'] });
    writeKubeconfig(file, { server: url, caPem: pki.ca.certPem, user: { certPem: carol.certPem, keyPem: carol.keyPem! } });
    // client-node is ESM-only; run it in a child Node process.
    const script = `
      const k8s = await import('@kubernetes/client-node');
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(process.argv[1]);
      const api = kc.makeApiClient(k8s.VersionApi);
      const v = await api.getCode();
      const opts = {}; await kc.applyToHTTPSOptions(opts);
      const https = await import('node:https');
      const body = await new Promise((resolve, reject) => https.get(kc.getCurrentCluster().server + '/apis/berth.dev/v1/images', opts, (res) => {
        let t = ''; res.on('data', (c) => t += c); res.on('end', () => resolve(t)); }).on('error', reject));
      console.log(JSON.stringify({ version: v.gitVersion, user: JSON.parse(body).user.username }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, file], { cwd: path.join(__dirname, '../../..') });
    expect(JSON.parse(stdout)).toEqual({ version: 'v1.32.0-berth', user: 'carol' });
  });
});
