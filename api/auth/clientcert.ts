/**
 * Client-certificate authentication (mutual TLS): the certificate must be signed by the cluster CA and be within its
 * validity period; then CN is the username and every O a group, as in Kubernetes.
 *
 * The check is done here on the DER rather than trusting `socket.authorized`, so it holds however the TLS server is
 * configured, and so a revoked certificate (by serial, e.g. a removed node) can be refused.
 */
import * as crypto from 'node:crypto';
import { parseCertificate } from './x509';
import { AuthRequest, AuthResult, Authenticator } from './types';

export interface ClientCertificateOptions {
  readonly now?: () => number;
  /** True if the certificate with this serial number (hex, upper case as Node reports it) was revoked. */
  readonly isRevoked?: (serialNumber: string, commonName: string) => boolean;
}

export class ClientCertificateAuthenticator implements Authenticator {
  private readonly ca: crypto.X509Certificate;
  private readonly now: () => number;

  constructor(
    caCertPem: string,
    private readonly opts: ClientCertificateOptions = {},
  ) {
    this.ca = new crypto.X509Certificate(caCertPem);
    this.now = opts.now ?? Date.now;
  }

  authenticate(req: AuthRequest): AuthResult {
    if (!req.clientCertificateDer || req.clientCertificateDer.length === 0) return null;
    let cert: crypto.X509Certificate;
    try {
      cert = new crypto.X509Certificate(req.clientCertificateDer);
    } catch {
      return { error: 'malformed client certificate' };
    }
    if (!cert.checkIssued(this.ca) || !cert.verify(this.ca.publicKey)) {
      return { error: 'client certificate is not signed by the cluster CA' };
    }
    const now = this.now();
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
      return { error: 'client certificate has expired or is not yet valid' };
    }
    const { commonName, organizations } = parseCertificate(cert.raw);
    if (commonName === '') return { error: 'client certificate has no common name' };
    if (this.opts.isRevoked?.(cert.serialNumber, commonName)) return { error: 'client certificate has been revoked' };
    return { user: { username: commonName, groups: organizations } };
  }
}
