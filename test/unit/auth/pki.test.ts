import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureClusterPki, issueClientCertificate, createCertificateAuthority, parseCertificate } from '../../../api/auth/pki';

describe('cluster PKI', () => {
  let home: string;
  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-pki-'));
  });
  afterEach(() => {
    fs.rmSync(home, { recursive: true, force: true });
    expect(fs.existsSync(home)).toBe(false);
  });

  it('creates a CA and serving certificate on first start, fast, with 0600 files, and reuses them later', () => {
    const started = process.hrtime.bigint();
    const pki = ensureClusterPki(home, { hosts: ['berth.example', '10.1.2.3'] });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(elapsedMs).toBeLessThan(500);
    for (const file of [pki.paths.caCert, pki.paths.caKey, pki.paths.servingCert, pki.paths.servingKey]) {
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
    const ca = new crypto.X509Certificate(pki.ca.certPem);
    const serving = new crypto.X509Certificate(pki.serving.certPem);
    expect(ca.ca).toBe(true);
    expect(serving.ca).toBe(false);
    expect(serving.checkIssued(ca)).toBe(true);
    expect(serving.verify(ca.publicKey)).toBe(true);
    for (const host of ['localhost', os.hostname(), 'berth.example']) expect(serving.checkHost(host)).toBe(host);
    for (const ip of ['127.0.0.1', '10.1.2.3']) expect(serving.checkIP(ip)).toBe(ip);
    expect(pki.caFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    // openssl agrees the chain is valid for TLS serving.
    fs.writeFileSync(path.join(home, 'ca.pem'), pki.ca.certPem);
    fs.writeFileSync(path.join(home, 'srv.pem'), pki.serving.certPem);
    const out = execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', path.join(home, 'ca.pem'), path.join(home, 'srv.pem')]).toString();
    expect(out).toContain(': OK');

    const again = ensureClusterPki(home, { hosts: ['berth.example', '10.1.2.3'] });
    expect(again.ca.certPem).toBe(pki.ca.certPem);
    expect(again.serving.certPem).toBe(pki.serving.certPem);
    expect(again.caFingerprint).toBe(pki.caFingerprint);
  });

  it('re-issues only the serving certificate when a new host is configured', () => {
    const first = ensureClusterPki(home);
    const second = ensureClusterPki(home, { hosts: ['new.example'] });
    expect(second.ca.certPem).toBe(first.ca.certPem);
    expect(second.serving.certPem).not.toBe(first.serving.certPem);
    expect(new crypto.X509Certificate(second.serving.certPem).checkHost('new.example')).toBe('new.example');
  });

  it('can cover every interface address, for a server listening on 0.0.0.0', () => {
    const pki = ensureClusterPki(home, { includeInterfaceAddresses: true });
    const serving = new crypto.X509Certificate(pki.serving.certPem);
    const addresses = Object.entries(os.networkInterfaces())
      .filter(([name]) => !name.startsWith('berth'))
      .flatMap(([, a]) => (a ?? []).filter((x) => x.family === 'IPv4').map((x) => x.address));
    expect(addresses.length).toBeGreaterThan(0);
    for (const ip of addresses) expect(serving.checkIP(ip)).toBe(ip);
  });

  it('issues client certificates with CN as user and each O as a group, verifiable against the CA only', () => {
    const pki = ensureClusterPki(home);
    const issued = issueClientCertificate(pki.ca, { commonName: 'alice', organizations: ['dev', 'ops'], days: 2 });
    const cert = new crypto.X509Certificate(issued.certPem);
    expect(cert.verify(new crypto.X509Certificate(pki.ca.certPem).publicKey)).toBe(true);
    expect(parseCertificate(cert.raw)).toEqual({ commonName: 'alice', organizations: ['dev', 'ops'] });
    expect(new Date(cert.validTo).getTime()).toBeLessThan(Date.now() + 2 * 86400e3 + 60e3);
    const other = createCertificateAuthority('other');
    expect(cert.verify(new crypto.X509Certificate(other.certPem).publicKey)).toBe(false);
    fs.writeFileSync(path.join(home, 'ca.pem'), pki.ca.certPem);
    fs.writeFileSync(path.join(home, 'client.pem'), issued.certPem);
    const out = execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', path.join(home, 'ca.pem'), path.join(home, 'client.pem')]).toString();
    expect(out).toContain(': OK');
    expect(crypto.createPrivateKey(issued.keyPem!).asymmetricKeyType).toBe('ec');
  });
});
