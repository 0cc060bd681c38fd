/**
 * Registry authentication (distribution "token authentication" and basic): parse a
 * `WWW-Authenticate` challenge, answer Basic directly, fetch and cache Bearer tokens per scope.
 */
import { readBody, Transport } from './http';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface Challenge {
  readonly scheme: string;
  readonly params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted or token values). */
export function parseChallenge(header: string): Challenge {
  const m = /^\s*(\S+)\s*(.*)$/.exec(header);
  if (!m) throw new Error(`unparseable WWW-Authenticate header "${header}"`);
  const params: Record<string, string> = {};
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (let p = re.exec(m[2]); p; p = re.exec(m[2])) params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3];
  return { scheme: m[1].toLowerCase(), params };
}

export class AuthError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AuthError';
  }
}

/** Holds the Authorization header value per scope; tokens are refreshed when a challenge comes back. */
export class Authenticator {
  private basic = false;
  private readonly tokens = new Map<string, string>();

  constructor(private readonly transport: Transport, private readonly credentials?: Credentials) {}

  /** The Authorization header for a request needing `scope`, if we have one. */
  header(scope: string): string | undefined {
    if (this.basic && this.credentials) return basicHeader(this.credentials);
    const token = this.tokens.get(scope);
    return token ? `Bearer ${token}` : undefined;
  }

  /**
   * Answers a 401's challenge so the next `header(scope)` works; throws AuthError if we cannot.
   * `sentAuthorization`: whether the refused request carried credentials (parallel requests may race the first answer).
   */
  async answer(challengeHeader: string | undefined, scope: string, sentAuthorization: boolean): Promise<void> {
    if (!challengeHeader) throw new AuthError('registry answered 401 without a WWW-Authenticate challenge');
    const challenge = parseChallenge(challengeHeader);
    if (challenge.scheme === 'basic') {
      if (!this.credentials) throw new AuthError(`registry requires basic authentication (realm "${challenge.params.realm ?? ''}") and no credentials were given`);
      if (this.basic && sentAuthorization) throw new AuthError('registry rejected the credentials (basic auth)');
      this.basic = true;
      return;
    }
    if (challenge.scheme !== 'bearer') throw new AuthError(`unsupported authentication scheme "${challenge.scheme}"`);
    const realm = challenge.params.realm;
    if (!realm) throw new AuthError('bearer challenge without a realm');
    const url = new URL(realm);
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    for (const s of new Set([...scope.split(' '), ...(challenge.params.scope ? challenge.params.scope.split(' ') : [])])) url.searchParams.append('scope', s);
    const headers: Record<string, string> = {};
    if (this.credentials) headers.authorization = basicHeader(this.credentials);
    const res = await this.transport.send({ method: 'GET', url: url.toString(), headers });
    const body = await readBody(res);
    if (res.status !== 200) throw new AuthError(`token endpoint ${url.origin}${url.pathname} answered ${res.status}: ${body.toString('utf8').slice(0, 200)}`);
    const doc = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
    const token = doc.token ?? doc.access_token;
    if (!token) throw new AuthError(`token endpoint ${url.origin}${url.pathname} returned no token`);
    this.tokens.set(scope, token);
  }
}

function basicHeader(c: Credentials): string {
  return 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64');
}
