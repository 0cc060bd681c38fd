/**
 * Service-account tokens: a workload or operator in namespace NS acts as `system:serviceaccount:NS:NAME`.
 *
 * The token is a JWT (RFC 7519) signed with HS256 under a 256-bit key in `$BERTH_HOME/pki/sa.key` (mode 0600), so
 * the API server verifies it without storing it. `exp` bounds its life; ServiceAccountRevocations (kept beside the
 * key, shared with `berth` commands in other processes) revokes one token by `jti`, or every token an account was
 * issued up to now.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SharedJsonFile } from './jsonfile';
import { writeSecretFile } from './pki';
import {
  AuthRequest,
  AuthResult,
  Authenticator,
  bearerToken,
  GROUP_SERVICEACCOUNTS,
  SERVICEACCOUNT_USER_PREFIX,
} from './types';

const ISSUER = 'berth';
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const DEFAULT_TTL_SECONDS = 3600;

export interface ServiceAccountClaims {
  readonly iss: string;
  readonly sub: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** Unique token id, for revocation. */
  readonly jti: string;
  /** Seconds since the epoch. */
  readonly iat: number;
  readonly exp: number;
}

export interface ServiceAccountOptions {
  /** Current time in ms; injectable for tests. */
  readonly now?: () => number;
  /** True if this token was revoked (looked up by `jti`, or by the account's uid). */
  readonly isRevoked?: (claims: ServiceAccountClaims) => boolean;
}

interface RevocationFile {
  /** Single tokens, kept until they would have expired anyway. */
  tokens: { jti: string; exp: number }[];
  /** `namespace/name` → tokens issued at or before this second (iat) are revoked. */
  accounts: Record<string, number>;
}

/** Revoked service-account tokens, in `$BERTH_HOME/pki/sa-revocations.json`. */
export class ServiceAccountRevocations {
  private readonly state: SharedJsonFile<RevocationFile>;

  constructor(
    file: string,
    private readonly now: () => number = Date.now,
  ) {
    this.state = new SharedJsonFile<RevocationFile>(file, () => ({ tokens: [], accounts: {} }));
  }

  /** Revokes one token (by its claims, e.g. from `verify`). */
  revokeToken(claims: Pick<ServiceAccountClaims, 'jti' | 'exp'>): void {
    const nowSeconds = this.now() / 1000;
    this.state.update((f) => ({
      ...f,
      tokens: [...f.tokens.filter((t) => t.exp > nowSeconds), { jti: claims.jti, exp: claims.exp }],
    }));
  }

  /** Revokes every token issued so far to `namespace/name` (tokens issued later, from the next second on, work). */
  revokeAccount(namespace: string, name: string): void {
    const cutoff = Math.floor(this.now() / 1000);
    this.state.update((f) => ({ ...f, accounts: { ...f.accounts, [`${namespace}/${name}`]: cutoff } }));
  }

  isRevoked(claims: ServiceAccountClaims): boolean {
    const { tokens, accounts } = this.state.read();
    const cutoff = accounts[`${claims.namespace}/${claims.name}`];
    return (cutoff !== undefined && claims.iat <= cutoff) || tokens.some((t) => t.jti === claims.jti);
  }
}

export class ServiceAccountTokens implements Authenticator {
  private readonly now: () => number;

  /** `revocations`: where `fromHome` keeps revocations, for `berth` commands to add to (absent for a bare key). */
  constructor(
    private readonly key: Buffer,
    private readonly opts: ServiceAccountOptions = {},
    readonly revocations?: ServiceAccountRevocations,
  ) {
    if (key.length < 32) throw new Error('service-account signing key must be at least 32 bytes');
    this.now = opts.now ?? Date.now;
  }

  /**
   * Loads `$home/pki/sa.key`, creating a fresh random key on first start, with the revocations in
   * `$home/pki/sa-revocations.json` (unless `opts.isRevoked` is given).
   */
  static fromHome(home: string, opts: ServiceAccountOptions = {}): ServiceAccountTokens {
    const file = path.join(home, 'pki', 'sa.key');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      writeSecretFile(file, crypto.randomBytes(32).toString('base64') + '\n');
    }
    const revocations = new ServiceAccountRevocations(path.join(home, 'pki', 'sa-revocations.json'), opts.now);
    const isRevoked = opts.isRevoked ?? ((claims: ServiceAccountClaims) => revocations.isRevoked(claims));
    return new ServiceAccountTokens(Buffer.from(fs.readFileSync(file, 'utf8').trim(), 'base64'), { ...opts, isRevoked }, revocations);
  }

  /** A signed token for service account `name` in `namespace`, valid for `ttlSeconds` (default 1 h). */
  issue(namespace: string, name: string, opts: { ttlSeconds?: number; uid?: string } = {}): string {
    const iat = Math.floor(this.now() / 1000);
    const claims: ServiceAccountClaims = {
      iss: ISSUER,
      sub: `${SERVICEACCOUNT_USER_PREFIX}${namespace}:${name}`,
      namespace,
      name,
      uid: opts.uid ?? crypto.randomUUID(),
      jti: crypto.randomUUID(),
      iat,
      exp: iat + (opts.ttlSeconds ?? DEFAULT_TTL_SECONDS),
    };
    const signingInput = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
    return `${signingInput}.${this.sign(signingInput)}`;
  }

  /** The claims of a valid token, or the reason it is not one. */
  verify(token: string): { claims: ServiceAccountClaims } | { error: string } {
    const parts = token.split('.');
    if (parts.length !== 3) return { error: 'malformed token' };
    const [header, payload, signature] = parts;
    if (header !== HEADER) return { error: 'unsupported token header' };
    const expected = Buffer.from(this.sign(`${header}.${payload}`), 'base64url');
    const given = Buffer.from(signature, 'base64url');
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      return { error: 'invalid token signature' };
    }
    let claims: ServiceAccountClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ServiceAccountClaims;
    } catch {
      return { error: 'malformed token claims' };
    }
    if (claims.iss !== ISSUER || typeof claims.exp !== 'number' || typeof claims.namespace !== 'string') {
      return { error: 'malformed token claims' };
    }
    if (claims.exp * 1000 <= this.now()) return { error: 'token has expired' };
    if (this.opts.isRevoked?.(claims)) return { error: 'token has been revoked' };
    return { claims };
  }

  authenticate(req: AuthRequest): AuthResult {
    const token = bearerToken(req);
    // Only JWT-shaped tokens are ours; anything else belongs to another authenticator.
    if (token === undefined || !token.startsWith(`${HEADER}.`)) return null;
    const result = this.verify(token);
    if ('error' in result) return result;
    const { claims } = result;
    return {
      user: {
        username: claims.sub,
        uid: claims.uid,
        groups: [GROUP_SERVICEACCOUNTS, `${GROUP_SERVICEACCOUNTS}:${claims.namespace}`],
      },
    };
  }

  private sign(input: string): string {
    return crypto.createHmac('sha256', this.key).update(input).digest('base64url');
  }
}
