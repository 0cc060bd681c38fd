/**
 * Static bearer tokens kept in `$BERTH_HOME/tokens.json` (mode 0600), the equivalent of Kubernetes' token file.
 *
 * The file is shared with `berth token ...` in other processes (SharedJsonFile), so a revocation takes effect on the
 * next request without a restart (with `recheckMs`, within that long: the API server checks the file once a second
 * rather than on every request; a revocation through this instance takes effect at once). Tokens are compared by their SHA-256 digest with `timingSafeEqual` against every
 * entry, so lookup time does not depend on how much of a guessed token matches.
 */
import * as crypto from 'node:crypto';
import { SharedJsonFile } from './jsonfile';
import { AuthRequest, AuthResult, Authenticator, bearerToken, GROUP_MASTERS, UserInfo } from './types';

export interface TokenEntry {
  /** A short public handle, so a token can be revoked without quoting it. */
  readonly id: string;
  readonly token: string;
  readonly username: string;
  readonly uid: string;
  readonly groups: readonly string[];
  readonly revoked?: boolean;
}

interface TokenFile {
  tokens: TokenEntry[];
}

export const ADMIN_USERNAME = 'admin';

export class TokenFileAuthenticator implements Authenticator {
  private readonly state: SharedJsonFile<TokenFile>;
  private digestsOf?: { entries: TokenEntry[]; digests: Buffer[] };

  /** `file` is created (empty) if missing; it is checked for changes at most every `recheckMs` (default: every use). */
  constructor(
    readonly file: string,
    opts: { readonly recheckMs?: number } = {},
  ) {
    const validate = (f: TokenFile): void => {
      if (!Array.isArray(f.tokens)) throw new Error(`token file ${file} has no "tokens" array`);
    };
    this.state = new SharedJsonFile<TokenFile>(file, () => ({ tokens: [] }), validate, opts.recheckMs);
  }

  /** The admin token (user `admin`, group `system:masters`), created on first call and the same ever after. */
  ensureAdminToken(): string {
    const existing = this.list().find((e) => e.username === ADMIN_USERNAME && !e.revoked);
    return existing ? existing.token : this.addToken({ username: ADMIN_USERNAME, groups: [GROUP_MASTERS] }).token;
  }

  /** Adds and persists a new random token for `user`. */
  addToken(user: { username: string; groups?: readonly string[]; uid?: string }): TokenEntry {
    const entry: TokenEntry = {
      id: crypto.randomBytes(6).toString('hex'),
      token: crypto.randomBytes(32).toString('base64url'),
      username: user.username,
      uid: user.uid ?? crypto.randomUUID(),
      groups: [...(user.groups ?? [])],
    };
    this.state.update((f) => ({ tokens: [...f.tokens, entry] }));
    return entry;
  }

  /** Marks the token with this id (or this token value) revoked. Returns false if none matched. */
  revoke(idOrToken: string): boolean {
    const matches = (e: TokenEntry) => e.id === idOrToken || e.token === idOrToken;
    if (!this.list().some(matches)) return false;
    this.state.update((f) => ({ tokens: f.tokens.map((e) => (matches(e) ? { ...e, revoked: true } : e)) }));
    return true;
  }

  list(): readonly TokenEntry[] {
    return this.state.read().tokens;
  }

  authenticate(req: AuthRequest): AuthResult {
    const token = bearerToken(req);
    if (token === undefined) return null;
    const digest = sha256(token);
    const { entries, digests } = this.digests();
    let match: TokenEntry | undefined;
    // Compare against every digest so the time taken does not reveal which entry (if any) matched.
    for (let i = 0; i < entries.length; i++) {
      if (crypto.timingSafeEqual(digest, digests[i]) && match === undefined) match = entries[i];
    }
    if (match === undefined) return null; // maybe another authenticator's token (a service-account JWT)
    if (match.revoked) return { error: 'token has been revoked' };
    const user: UserInfo = { username: match.username, uid: match.uid, groups: match.groups };
    return { user };
  }

  /** Digests of the current entries, recomputed only when the file changed. */
  private digests(): { entries: TokenEntry[]; digests: Buffer[] } {
    const entries = this.state.read().tokens;
    if (this.digestsOf?.entries !== entries) this.digestsOf = { entries, digests: entries.map((e) => sha256(e.token)) };
    return this.digestsOf;
  }
}

export function sha256(s: string): Buffer {
  return crypto.createHash('sha256').update(s).digest();
}
