/**
 * Node identity and joining, after Docker Swarm: `berth token create` prints `BERTH-1-<CA fingerprint>-<secret>`;
 * an agent holding it pins the cluster CA by the fingerprint, authenticates with the secret as a bootstrapper, and
 * gets a node certificate (CN `system:node:<name>`, O `system:nodes`) signed by the cluster CA, which it uses from then
 * on and renews before it expires. Rotating the join token invalidates old tokens but no certificate; revoking a node
 * invalidates its certificates.
 *
 * State (shared with `berth token ...` in other processes): `$BERTH_HOME/join-tokens.json` holds token digests only;
 * `$BERTH_HOME/pki/node-certificates.json` records every issued node certificate (serial, node, expiry, revoked).
 */
import * as crypto from 'node:crypto';
import * as path from 'node:path';
import { SharedJsonFile } from './jsonfile';
import { CertificateAuthority, issueClientCertificate, IssuedCertificate } from './pki';
import { sha256 } from './tokens';
import { AuthRequest, AuthResult, Authenticator, bearerToken, GROUP_NODES, NODE_USER_PREFIX } from './types';

export const JOIN_TOKEN_VERSION = 'BERTH-1';
export const GROUP_BOOTSTRAPPERS = 'system:bootstrappers';
export const BOOTSTRAP_USER_PREFIX = 'system:bootstrap:';
/** Managers get this group too (what a manager may do beyond a worker is up to RBAC). */
export const GROUP_MANAGERS = 'berth:managers';
export const DEFAULT_NODE_CERT_DAYS = 90;

export type JoinRole = 'worker' | 'manager';

interface JoinTokenRecord {
  readonly id: string;
  /** sha256 hex of the secret part. */
  readonly secretSha256: string;
  readonly role: JoinRole;
  readonly created: string;
  /** ISO time after which the token no longer joins; absent = until rotated (Swarm's behaviour). */
  readonly expires?: string;
}

/** The parts of a join token; undefined if `token` does not have the form `BERTH-1-<64 hex>-<secret>`. */
export function parseJoinToken(token: string): { caFingerprint: string; secret: string } | undefined {
  const match = /^BERTH-1-([0-9a-f]{64})-([0-9a-z]{20,})$/.exec(token);
  return match ? { caFingerprint: `sha256:${match[1]}`, secret: match[2] } : undefined;
}

export class JoinTokens implements Authenticator {
  private readonly state: SharedJsonFile<{ tokens: JoinTokenRecord[] }>;

  /** `caFingerprint` as `ensureClusterPki` reports it (`sha256:<hex>`). */
  constructor(
    file: string,
    private readonly caFingerprint: string,
    private readonly now: () => number = Date.now,
  ) {
    this.state = new SharedJsonFile(file, () => ({ tokens: [] as JoinTokenRecord[] }));
  }

  static fromHome(home: string, caFingerprint: string, now?: () => number): JoinTokens {
    return new JoinTokens(path.join(home, 'join-tokens.json'), caFingerprint, now);
  }

  private isExpired(record: JoinTokenRecord): boolean {
    return record.expires !== undefined && Date.parse(record.expires) <= this.now();
  }

  /**
   * A new token for `role` (earlier ones stay valid until `rotate`), optionally expiring after `ttlSeconds`. Only its
   * digest is stored: print it now or never.
   */
  create(role: JoinRole = 'worker', opts: { ttlSeconds?: number } = {}): string {
    const secret = crypto.randomBytes(20).toString('hex');
    const now = this.now();
    const record: JoinTokenRecord = {
      id: crypto.randomBytes(3).toString('hex'),
      secretSha256: sha256(secret).toString('hex'),
      role,
      created: new Date(now).toISOString(),
      ...(opts.ttlSeconds !== undefined ? { expires: new Date(now + opts.ttlSeconds * 1000).toISOString() } : {}),
    };
    // Expired tokens are dropped whenever a token is made, so the file does not grow without bound.
    this.state.update((s) => ({ tokens: [...s.tokens.filter((t) => !this.isExpired(t)), record] }));
    return `${JOIN_TOKEN_VERSION}-${this.caFingerprint.replace(/^sha256:/, '')}-${secret}`;
  }

  /** Invalidates every token of `role` and returns a new one. Certificates already issued stay valid. */
  rotate(role: JoinRole = 'worker'): string {
    this.state.update((s) => ({ tokens: s.tokens.filter((t) => t.role !== role) }));
    return this.create(role);
  }

  authenticate(req: AuthRequest): AuthResult {
    const token = bearerToken(req);
    if (token === undefined || !token.startsWith(`${JOIN_TOKEN_VERSION}-`)) return null;
    const parsed = parseJoinToken(token);
    if (!parsed) return { error: 'malformed join token' };
    if (parsed.caFingerprint !== this.caFingerprint) return { error: 'join token is for another cluster CA' };
    const digest = sha256(parsed.secret);
    const record = this.state
      .read()
      .tokens.find((t) => crypto.timingSafeEqual(Buffer.from(t.secretSha256, 'hex'), digest));
    if (!record) return { error: 'invalid or rotated join token' };
    if (this.isExpired(record)) return { error: 'join token has expired' };
    return {
      user: {
        username: `${BOOTSTRAP_USER_PREFIX}${record.id}`,
        groups: [GROUP_BOOTSTRAPPERS, `${GROUP_BOOTSTRAPPERS}:${record.role}`],
      },
    };
  }
}

interface IssuedRecord {
  readonly serial: string;
  readonly node: string;
  readonly expires: string;
  readonly revoked?: boolean;
}

/** Issues node certificates and remembers them, so a node's certificates can be revoked. */
export class NodeCertificates {
  private readonly state: SharedJsonFile<{ certificates: IssuedRecord[] }>;

  constructor(
    file: string,
    private readonly ca: CertificateAuthority,
    private readonly days: number = DEFAULT_NODE_CERT_DAYS,
  ) {
    this.state = new SharedJsonFile(file, () => ({ certificates: [] as IssuedRecord[] }));
  }

  static fromHome(home: string, ca: CertificateAuthority, days?: number): NodeCertificates {
    return new NodeCertificates(path.join(home, 'pki', 'node-certificates.json'), ca, days);
  }

  /** A certificate for node `nodeName` over the node's own public key; expired records are dropped on the way. */
  issue(nodeName: string, publicKeyPem: string, role: JoinRole = 'worker'): IssuedCertificate {
    if (!isDnsSubdomain(nodeName)) throw new Error(`node name "${nodeName}" is not a DNS-1123 subdomain`);
    if (this.isNodeRevoked(nodeName)) throw new Error(`node "${nodeName}" was revoked; it must be removed before it can join again`);
    const issued = issueClientCertificate(this.ca, {
      commonName: `${NODE_USER_PREFIX}${nodeName}`,
      organizations: role === 'manager' ? [GROUP_NODES, GROUP_MANAGERS] : [GROUP_NODES],
      days: this.days,
      publicKeyPem,
    });
    const serial = new crypto.X509Certificate(issued.certPem).serialNumber;
    const now = Date.now();
    this.state.update((s) => ({
      certificates: [
        ...s.certificates.filter((c) => Date.parse(c.expires) > now || c.revoked),
        { serial, node: nodeName, expires: issued.expires.toISOString() },
      ],
    }));
    return issued;
  }

  /** Revokes every certificate issued to `nodeName` (and refuses new ones); returns how many were live. */
  revokeNode(nodeName: string): number {
    let count = 0;
    this.state.update((s) => ({
      certificates: [
        ...s.certificates.map((c) => {
          if (c.node !== nodeName || c.revoked) return c;
          count++;
          return { ...c, revoked: true };
        }),
        // A marker so the name stays refused even when it had no live certificate.
        { serial: '', node: nodeName, expires: new Date(8.64e15).toISOString(), revoked: true },
      ],
    }));
    return count;
  }

  /** Lets a revoked node name join again (after the operator removed the old node). */
  forgetNode(nodeName: string): void {
    this.state.update((s) => ({ certificates: s.certificates.filter((c) => c.node !== nodeName) }));
  }

  /** For ClientCertificateAuthenticator's `isRevoked`: serial as Node's X509Certificate reports it. */
  isRevoked(serial: string): boolean {
    return this.state.read().certificates.some((c) => c.revoked && c.serial === serial);
  }

  private isNodeRevoked(nodeName: string): boolean {
    return this.state.read().certificates.some((c) => c.revoked && c.node === nodeName);
  }
}

function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}
