import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureClusterPki, JoinTokens, NodeCertificates, parseJoinToken, shouldRenew, issueClientCertificate } from '../../../api/auth';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const publicKeyPem = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

describe('join tokens and node certificates', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-join-'));
  });
  afterEach(() => {
    fs.rmSync(home, { recursive: true, force: true });
    expect(fs.existsSync(home)).toBe(false);
  });

  it('prints BERTH-1-<CA fingerprint>-<secret>, stores only a digest, and authenticates it as a bootstrapper of its role', () => {
    const pki = ensureClusterPki(home);
    const tokens = JoinTokens.fromHome(home, pki.caFingerprint);
    const worker = tokens.create('worker');
    const manager = tokens.create('manager');
    expect(worker).toMatch(/^BERTH-1-[0-9a-f]{64}-[0-9a-f]{40}$/);
    expect(parseJoinToken(worker)?.caFingerprint).toBe(pki.caFingerprint);
    const file = fs.readFileSync(path.join(home, 'join-tokens.json'), 'utf8');
    expect(file).not.toContain(parseJoinToken(worker)!.secret);
    expect(fs.statSync(path.join(home, 'join-tokens.json')).mode & 0o777).toBe(0o600);
    expect(tokens.authenticate(bearer(worker))).toEqual({ user: { username: expect.stringMatching(/^system:bootstrap:/), groups: ['system:bootstrappers', 'system:bootstrappers:worker'] } });
    expect(tokens.authenticate(bearer(manager))).toHaveProperty('user.groups', ['system:bootstrappers', 'system:bootstrappers:manager']);
    expect(tokens.authenticate(bearer('some-other-token'))).toBeNull();
  });

  it('refuses guessed secrets, another cluster\'s fingerprint, and tokens rotated away (by another process)', () => {
    const pki = ensureClusterPki(home);
    const tokens = JoinTokens.fromHome(home, pki.caFingerprint);
    const worker = tokens.create('worker');
    const manager = tokens.create('manager');
    const fp = pki.caFingerprint.slice('sha256:'.length);
    expect(tokens.authenticate(bearer(`BERTH-1-${fp}-${'0'.repeat(40)}`))).toEqual({ error: 'invalid or rotated join token' });
    expect(tokens.authenticate(bearer(`BERTH-1-${'a'.repeat(64)}-${parseJoinToken(worker)!.secret}`))).toEqual({ error: 'join token is for another cluster CA' });
    expect(tokens.authenticate(bearer('BERTH-1-xyz'))).toEqual({ error: 'malformed join token' });

    const rotated = JoinTokens.fromHome(home, pki.caFingerprint).rotate('worker');
    expect(tokens.authenticate(bearer(worker))).toEqual({ error: 'invalid or rotated join token' });
    expect(tokens.authenticate(bearer(rotated))).toHaveProperty('user');
    expect(tokens.authenticate(bearer(manager))).toHaveProperty('user'); // other roles untouched
  });

  it('lets a token expire when made with a TTL', () => {
    const pki = ensureClusterPki(home);
    let now = Date.parse('2026-05-01T00:00:00Z');
    const tokens = JoinTokens.fromHome(home, pki.caFingerprint, () => now);
    const shortLived = tokens.create('worker', { ttlSeconds: 3600 });
    const lasting = tokens.create('worker');
    expect(tokens.authenticate(bearer(shortLived))).toHaveProperty('user');
    now += 3601_000;
    expect(tokens.authenticate(bearer(shortLived))).toEqual({ error: 'join token has expired' });
    expect(tokens.authenticate(bearer(lasting))).toHaveProperty('user');
    tokens.create('manager'); // pruning drops the expired record
    expect(JSON.parse(fs.readFileSync(path.join(home, 'join-tokens.json'), 'utf8')).tokens).toHaveLength(2);
  });

  it('issues node certificates (90 days by default) over the node\'s own key, and revokes them by node', () => {
    const pki = ensureClusterPki(home);
    const certs = NodeCertificates.fromHome(home, pki.ca);
    const key = publicKeyPem();
    const issued = certs.issue('node-1', key);
    const cert = new crypto.X509Certificate(issued.certPem);
    expect(cert.subject).toBe('CN=system:node:node-1\nO=system:nodes');
    expect(cert.publicKey.export({ type: 'spki', format: 'pem' })).toBe(key);
    expect(issued.keyPem).toBeUndefined();
    const days = (Date.parse(cert.validTo) - Date.now()) / 86400e3;
    expect(days).toBeGreaterThan(89.9);
    expect(days).toBeLessThan(90.1);
    expect(shouldRenew(issued.certPem)).toBe(false);
    expect(shouldRenew(issued.certPem, Date.now() + 61 * 86400e3)).toBe(true);
    expect(new crypto.X509Certificate(certs.issue('mgr-1', key, 'manager').certPem).subject).toBe('CN=system:node:mgr-1\nO=system:nodes\nO=berth:managers');

    const second = certs.issue('node-1', key);
    expect(certs.isRevoked(cert.serialNumber)).toBe(false);
    expect(NodeCertificates.fromHome(home, pki.ca).revokeNode('node-1')).toBe(2);
    expect(certs.isRevoked(cert.serialNumber)).toBe(true);
    expect(certs.isRevoked(new crypto.X509Certificate(second.certPem).serialNumber)).toBe(true);
    expect(() => certs.issue('node-1', key)).toThrow('node "node-1" was revoked');
    certs.forgetNode('node-1');
    expect(certs.issue('node-1', key).certPem).toContain('BEGIN CERTIFICATE');
    expect(() => certs.issue('Bad_Name', key)).toThrow('not a DNS-1123 subdomain');
    expect(certs.isRevoked(new crypto.X509Certificate(issueClientCertificate(pki.ca, { commonName: 'x' }).certPem).serialNumber)).toBe(false);
  });

  it('honours a configured validity', () => {
    const pki = ensureClusterPki(home);
    const issued = NodeCertificates.fromHome(home, pki.ca, 7).issue('n', publicKeyPem());
    expect((issued.expires.getTime() - Date.now()) / 86400e3).toBeCloseTo(7, 1);
  });
});
