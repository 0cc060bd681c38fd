/**
 * The cluster PKI under `$BERTH_HOME/pki/`: a CA made on first start and a serving certificate signed by it, both
 * reused on later starts (the serving certificate is re-issued when its SANs no longer cover the configured hosts or
 * it is about to expire, never the CA: re-keying the CA would orphan every kubeconfig and joined node).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { newKeyPair, parseCertificate, signCertificate } from './x509';

const DAY_MS = 24 * 60 * 60 * 1000;
const CA_DAYS = 3650;
const SERVING_DAYS = 365;
/** Re-issue the serving certificate when less than this remains. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
/** Backdate notBefore a little so peers with slightly slow clocks accept a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60 * 1000;

export interface CertificateAuthority {
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ClusterPki {
  readonly ca: CertificateAuthority;
  readonly serving: { readonly certPem: string; readonly keyPem: string };
  /** `sha256:<hex>` of the CA certificate's DER; what join tokens pin. */
  readonly caFingerprint: string;
  readonly paths: {
    readonly dir: string;
    readonly caCert: string;
    readonly caKey: string;
    readonly servingCert: string;
    readonly servingKey: string;
  };
}

export interface PkiOptions {
  /** Extra DNS names / IP addresses for the serving certificate (127.0.0.1, ::1, localhost and the hostname are always in). */
  readonly hosts?: readonly string[];
  /**
   * Also every address of this machine's network interfaces (for a server listening on 0.0.0.0 that nodes on other
   * machines join by IP). Berth's own bridges (`berth*`) are left out: they come and go with networks.
   */
  readonly includeInterfaceAddresses?: boolean;
}

/** Creates the CA and serving certificate on first call for `home`, and loads (and if needed renews the serving cert) later. */
export function ensureClusterPki(home: string, opts: PkiOptions = {}): ClusterPki {
  const dir = path.join(home, 'pki');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths = {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    servingCert: path.join(dir, 'apiserver.crt'),
    servingKey: path.join(dir, 'apiserver.key'),
  };

  let ca: CertificateAuthority;
  if (fs.existsSync(paths.caCert) && fs.existsSync(paths.caKey)) {
    ca = { certPem: fs.readFileSync(paths.caCert, 'utf8'), keyPem: fs.readFileSync(paths.caKey, 'utf8') };
  } else {
    ca = createCertificateAuthority('berth-ca');
    writeSecretFile(paths.caKey, ca.keyPem);
    writeSecretFile(paths.caCert, ca.certPem);
  }

  const hosts = servingHosts([...(opts.hosts ?? []), ...(opts.includeInterfaceAddresses ? interfaceAddresses() : [])]);
  let serving: { certPem: string; keyPem: string };
  if (fs.existsSync(paths.servingCert) && fs.existsSync(paths.servingKey) && coversHosts(paths.servingCert, hosts, ca)) {
    serving = { certPem: fs.readFileSync(paths.servingCert, 'utf8'), keyPem: fs.readFileSync(paths.servingKey, 'utf8') };
  } else {
    serving = issueServingCertificate(ca, hosts);
    writeSecretFile(paths.servingKey, serving.keyPem);
    writeSecretFile(paths.servingCert, serving.certPem);
  }
  return { ca, serving, caFingerprint: certificateFingerprint(ca.certPem), paths };
}

export function createCertificateAuthority(commonName: string, days = CA_DAYS): CertificateAuthority {
  const { publicKey, privateKey } = newKeyPair();
  const now = Date.now();
  const certPem = signCertificate(
    {
      subject: { commonName },
      publicKey,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + days * DAY_MS),
      isCa: true,
    },
    { selfKey: privateKey },
  );
  return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export interface ClientCertificateRequest {
  /** Becomes the username. */
  readonly commonName: string;
  /** Become the user's groups. */
  readonly organizations?: readonly string[];
  /** Validity; default 365. May be fractional (tests issue short-lived certificates). */
  readonly days?: number;
  /** Issue with a given public key (a node sends its own); default: a fresh key pair, returned as keyPem. */
  readonly publicKeyPem?: string;
}

export interface IssuedCertificate {
  readonly certPem: string;
  /** Absent when the request carried its own public key. */
  readonly keyPem?: string;
  /** notAfter of the certificate. */
  readonly expires: Date;
}

/** A client certificate (clientAuth) signed by the cluster CA. */
export function issueClientCertificate(ca: CertificateAuthority, req: ClientCertificateRequest): IssuedCertificate {
  const pair = req.publicKeyPem ? undefined : newKeyPair();
  const publicKey = pair ? pair.publicKey : crypto.createPublicKey(req.publicKeyPem!);
  const now = Date.now();
  const expires = new Date(now + (req.days ?? 365) * DAY_MS);
  const certPem = signCertificate(
    {
      subject: { commonName: req.commonName, organizations: req.organizations },
      publicKey,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: expires,
      isCa: false,
      extKeyUsage: { clientAuth: true },
    },
    { certPem: ca.certPem, key: crypto.createPrivateKey(ca.keyPem) },
  );
  return { certPem, keyPem: pair?.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), expires };
}

/** `sha256:<hex>` of a PEM certificate's DER. */
export function certificateFingerprint(certPem: string): string {
  return `sha256:${crypto.createHash('sha256').update(new crypto.X509Certificate(certPem).raw).digest('hex')}`;
}

/**
 * Options for `https.createServer`: serve the cluster certificate and ask for (but do not require) a client
 * certificate, so bearer-token clients still connect; the client-certificate authenticator decides on it.
 */
export function tlsServerOptions(pki: ClusterPki): {
  key: string;
  cert: string;
  ca: string;
  requestCert: true;
  rejectUnauthorized: false;
} {
  return { key: pki.serving.keyPem, cert: pki.serving.certPem, ca: pki.ca.certPem, requestCert: true, rejectUnauthorized: false };
}

function issueServingCertificate(ca: CertificateAuthority, hosts: string[]): { certPem: string; keyPem: string } {
  const { publicKey, privateKey } = newKeyPair();
  const now = Date.now();
  const certPem = signCertificate(
    {
      subject: { commonName: 'berth-apiserver' },
      publicKey,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + SERVING_DAYS * DAY_MS),
      isCa: false,
      dnsNames: hosts.filter((h) => !isIpAddress(h)),
      ipAddresses: hosts.filter(isIpAddress),
      extKeyUsage: { serverAuth: true },
    },
    { certPem: ca.certPem, key: crypto.createPrivateKey(ca.keyPem) },
  );
  return { certPem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

function servingHosts(extra: readonly string[]): string[] {
  return [...new Set(['127.0.0.1', '::1', 'localhost', os.hostname(), ...extra].filter((h) => h.length > 0))];
}

function interfaceAddresses(): string[] {
  return Object.entries(os.networkInterfaces())
    .filter(([name]) => !name.startsWith('berth'))
    .flatMap(([, addrs]) => (addrs ?? []).filter((a) => !a.address.startsWith('fe80:')).map((a) => a.address));
}

function coversHosts(certPath: string, hosts: string[], ca: CertificateAuthority): boolean {
  const cert = new crypto.X509Certificate(fs.readFileSync(certPath));
  if (!cert.checkIssued(new crypto.X509Certificate(ca.certPem))) return false;
  if (new Date(cert.validTo).getTime() - Date.now() < RENEW_BEFORE_MS) return false;
  return hosts.every((h) => (isIpAddress(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined));
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

/** Writes a file only its owner can read, replacing any previous one atomically. */
export function writeSecretFile(file: string, content: string | Buffer): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

export { parseCertificate };
