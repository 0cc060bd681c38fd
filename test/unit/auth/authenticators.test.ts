import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  ClientCertificateAuthenticator,
  createCertificateAuthority,
  ensureClusterPki,
  issueClientCertificate,
  ServiceAccountClaims,
  ServiceAccountTokens,
  TokenFileAuthenticator,
  UnionAuthenticator,
} from '../../../api/auth';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const derOf = (pem: string) => new crypto.X509Certificate(pem).raw;

describe('authenticators', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-authn-'));
  });
  afterEach(() => {
    fs.rmSync(home, { recursive: true, force: true });
    expect(fs.existsSync(home)).toBe(false);
  });

  describe('token file', () => {
    it('creates one admin token on first start (mode 0600) and returns the same one later', () => {
      const file = path.join(home, 'tokens.json');
      const first = new TokenFileAuthenticator(file).ensureAdminToken();
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(new TokenFileAuthenticator(file).ensureAdminToken()).toBe(first);
      expect(new TokenFileAuthenticator(file).authenticate(bearer(first))).toEqual({
        user: { username: 'admin', uid: expect.any(String), groups: ['system:masters'] },
      });
    });

    it('maps tokens to users and groups; unknown tokens are not its business; revocation from another process applies at once', () => {
      const file = path.join(home, 'tokens.json');
      const server = new TokenFileAuthenticator(file);
      const alice = server.addToken({ username: 'alice', groups: ['dev'] });
      expect(server.authenticate(bearer(alice.token))).toEqual({ user: { username: 'alice', uid: alice.uid, groups: ['dev'] } });
      expect(server.authenticate(bearer(alice.token + 'x'))).toBeNull();
      expect(server.authenticate({})).toBeNull();
      // `berth token revoke` runs as another process: a second instance on the same file.
      expect(new TokenFileAuthenticator(file).revoke(alice.id)).toBe(true);
      expect(server.authenticate(bearer(alice.token))).toEqual({ error: 'token has been revoked' });
      expect(server.revoke('no-such-id')).toBe(false);
    });
  });

  describe('service-account tokens', () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const clock = () => now;

    it('authenticates as system:serviceaccount:NS:NAME with the namespace groups', () => {
      const sa = ServiceAccountTokens.fromHome(home, { now: clock });
      expect(fs.statSync(path.join(home, 'pki', 'sa.key')).mode & 0o777).toBe(0o600);
      const token = sa.issue('team-a', 'deployer');
      expect(sa.authenticate(bearer(token))).toEqual({
        user: {
          username: 'system:serviceaccount:team-a:deployer',
          uid: expect.any(String),
          groups: ['system:serviceaccounts', 'system:serviceaccounts:team-a'],
        },
      });
      // The same key file on a later start verifies it too.
      expect(ServiceAccountTokens.fromHome(home, { now: clock }).authenticate(bearer(token))).toHaveProperty('user');
    });

    it.each([
      ['a flipped signature byte', (t: string) => t.slice(0, -2) + (t.endsWith('A') ? 'BA' : 'AA')],
      ['claims changed to another namespace', (t: string) => {
        const [h, p, s] = t.split('.');
        const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
        claims.namespace = 'team-b';
        claims.sub = 'system:serviceaccount:team-b:deployer';
        return [h, Buffer.from(JSON.stringify(claims)).toString('base64url'), s].join('.');
      }],
      ['alg none', (t: string) => {
        const [, p] = t.split('.');
        return [Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url'), p, ''].join('.');
      }],
    ])('rejects a forged token: %s', (_what, forge) => {
      const sa = ServiceAccountTokens.fromHome(home, { now: clock });
      const forged = forge(sa.issue('team-a', 'deployer'));
      const union = new UnionAuthenticator([sa]);
      return expect(union.authenticate(bearer(forged))).resolves.toHaveProperty('error');
    });

    it('rejects a token signed with another key, an expired one and a revoked one', () => {
      const sa = ServiceAccountTokens.fromHome(home, { now: clock });
      const other = new ServiceAccountTokens(crypto.randomBytes(32), { now: clock });
      expect(sa.authenticate(bearer(other.issue('team-a', 'deployer')))).toEqual({ error: 'invalid token signature' });

      const token = sa.issue('team-a', 'deployer', { ttlSeconds: 60 });
      now += 61_000;
      expect(sa.authenticate(bearer(token))).toEqual({ error: 'token has expired' });

      const revokedJti = new Set<string>();
      const withRevocation = ServiceAccountTokens.fromHome(home, { now: clock, isRevoked: (c) => revokedJti.has(c.jti) });
      const live = withRevocation.issue('team-a', 'deployer');
      expect(withRevocation.authenticate(bearer(live))).toHaveProperty('user');
      revokedJti.add((withRevocation.verify(live) as { claims: { jti: string } }).claims.jti);
      expect(withRevocation.authenticate(bearer(live))).toEqual({ error: 'token has been revoked' });
    });
  });

  it('revokes service-account tokens from the revocation file (another process): one token, or all of an account\'s so far', () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const server = ServiceAccountTokens.fromHome(home, { now: () => now });
    const cli = ServiceAccountTokens.fromHome(home, { now: () => now });
    const one = server.issue('ns', 'bot');
    const two = server.issue('ns', 'bot');
    const other = server.issue('ns', 'other');
    cli.revocations!.revokeToken((cli.verify(one) as { claims: ServiceAccountClaims }).claims);
    expect(server.authenticate(bearer(one))).toEqual({ error: 'token has been revoked' });
    expect(server.authenticate(bearer(two))).toHaveProperty('user');
    cli.revocations!.revokeAccount('ns', 'bot');
    expect(server.authenticate(bearer(two))).toEqual({ error: 'token has been revoked' });
    expect(server.authenticate(bearer(other))).toHaveProperty('user');
    now += 1000;
    expect(server.authenticate(bearer(server.issue('ns', 'bot')))).toHaveProperty('user'); // issued after the cut-off
    expect(fs.statSync(path.join(home, 'pki', 'sa-revocations.json')).mode & 0o777).toBe(0o600);
  });

  describe('client certificates', () => {
    it('accepts the cluster CA\'s certificates (CN user, O groups) and refuses other CAs, expired and revoked ones', () => {
      const pki = ensureClusterPki(home);
      const authn = new ClientCertificateAuthenticator(pki.ca.certPem);
      const alice = issueClientCertificate(pki.ca, { commonName: 'alice', organizations: ['dev', 'ops'] });
      expect(authn.authenticate({ clientCertificateDer: derOf(alice.certPem) })).toEqual({
        user: { username: 'alice', groups: ['dev', 'ops'] },
      });
      expect(authn.authenticate({})).toBeNull();

      const foreign = issueClientCertificate(createCertificateAuthority('evil-ca'), { commonName: 'alice', organizations: ['system:masters'] });
      expect(authn.authenticate({ clientCertificateDer: derOf(foreign.certPem) })).toEqual({
        error: 'client certificate is not signed by the cluster CA',
      });

      const expired = issueClientCertificate(pki.ca, { commonName: 'bob', days: -1 });
      expect(authn.authenticate({ clientCertificateDer: derOf(expired.certPem) })).toEqual({
        error: 'client certificate has expired or is not yet valid',
      });

      const serial = new crypto.X509Certificate(alice.certPem).serialNumber;
      const revoking = new ClientCertificateAuthenticator(pki.ca.certPem, { isRevoked: (s) => s === serial });
      expect(revoking.authenticate({ clientCertificateDer: derOf(alice.certPem) })).toEqual({
        error: 'client certificate has been revoked',
      });
      expect(authn.authenticate({ clientCertificateDer: Buffer.from('not a certificate') })).toEqual({
        error: 'malformed client certificate',
      });
      // The API server's own serving certificate (serverAuth only) signs nobody in.
      expect(authn.authenticate({ clientCertificateDer: derOf(pki.serving.certPem) })).toEqual({
        error: 'certificate is not for client authentication',
      });
    });
  });

  it('re-checks expiry and revocation of a remembered certificate on every request', () => {
    const pki = ensureClusterPki(home);
    let now = Date.now();
    const revoked = new Set<string>();
    const authn = new ClientCertificateAuthenticator(pki.ca.certPem, { now: () => now, isRevoked: (s) => revoked.has(s) });
    const issued = issueClientCertificate(pki.ca, { commonName: 'carol', days: 1 });
    const der = derOf(issued.certPem);
    for (let i = 0; i < 3; i++) expect(authn.authenticate({ clientCertificateDer: der })).toHaveProperty('user.username', 'carol');
    revoked.add(new crypto.X509Certificate(issued.certPem).serialNumber);
    expect(authn.authenticate({ clientCertificateDer: der })).toEqual({ error: 'client certificate has been revoked' });
    revoked.clear();
    now += 2 * 86400e3;
    expect(authn.authenticate({ clientCertificateDer: der })).toEqual({ error: 'client certificate has expired or is not yet valid' });
  });

  describe('union', () => {
    it('takes the first user, reports an error when any authenticator recognised bad credentials, and refuses unknown tokens', async () => {
      const pki = ensureClusterPki(home);
      const tokens = new TokenFileAuthenticator(path.join(home, 'tokens.json'));
      const sa = ServiceAccountTokens.fromHome(home);
      const union = new UnionAuthenticator([new ClientCertificateAuthenticator(pki.ca.certPem), tokens, sa]);
      const admin = tokens.ensureAdminToken();
      expect(await union.authenticate(bearer(admin))).toHaveProperty('user.username', 'admin');
      expect(await union.authenticate(bearer(sa.issue('ns', 'op')))).toHaveProperty('user.username', 'system:serviceaccount:ns:op');
      expect(await union.authenticate(bearer('made-up'))).toEqual({ error: 'invalid bearer token' });
      expect(await union.authenticate({ authorization: 'Basic YTpi' })).toEqual({ error: 'unsupported authorization scheme' });
      expect(await union.authenticate({})).toBeNull();
      const foreign = issueClientCertificate(createCertificateAuthority('evil'), { commonName: 'x' });
      // As in Kubernetes' union authenticator, any valid credential wins over a bad one sent alongside it.
      expect(await union.authenticate({ ...bearer(admin), clientCertificateDer: derOf(foreign.certPem) })).toHaveProperty('user');
    });
  });
});
