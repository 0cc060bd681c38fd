/**
 * Static bearer tokens kept in `$BERTH_HOME/tokens.json` (mode 0600), the equivalent of Kubernetes' token file.
 *
 * The file is re-read whenever its mtime changes, so `berth token revoke` run from another process takes effect on
 * the next request without a restart. Tokens are compared by their SHA-256 digest with `timingSafeEqual`, so lookup
 * time does not depend on how much of a guessed token matches.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeSecretFile } from './pki';
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
  private entries: TokenEntry[] = [];
  private digests: Buffer[] = [];
  /** mtime and inode of the loaded file: an atomic rename by another process changes the inode. */
  private loadedVersion = '';

  /** `file` is created (empty) if missing. */
  constructor(readonly file: string) {
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      this.save([]);
    }
    this.reloadIfChanged();
  }

  /** The admin token (user `admin`, group `system:masters`), created on first call and the same ever after. */
  ensureAdminToken(): string {
    const existing = this.currentEntries().find((e) => e.username === ADMIN_USERNAME && !e.revoked);
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
    this.save([...this.currentEntries(), entry]);
    return entry;
  }

  /** Marks the token with this id (or this token value) revoked. Returns false if none matched. */
  revoke(idOrToken: string): boolean {
    let found = false;
    const entries = this.currentEntries().map((e) => {
      if (e.id !== idOrToken && e.token !== idOrToken) return e;
      found = true;
      return { ...e, revoked: true };
    });
    if (found) this.save(entries);
    return found;
  }

  list(): readonly TokenEntry[] {
    return this.currentEntries();
  }

  authenticate(req: AuthRequest): AuthResult {
    const token = bearerToken(req);
    if (token === undefined) return null;
    const digest = sha256(token);
    const entries = this.currentEntries();
    let match: TokenEntry | undefined;
    // Compare against every digest so the time taken does not reveal which entry (if any) matched.
    for (let i = 0; i < entries.length; i++) {
      if (crypto.timingSafeEqual(digest, this.digests[i]) && match === undefined) match = entries[i];
    }
    if (match === undefined) return null; // maybe another authenticator's token (a service-account JWT)
    if (match.revoked) return { error: 'token has been revoked' };
    const user: UserInfo = { username: match.username, uid: match.uid, groups: match.groups };
    return { user };
  }

  private currentEntries(): TokenEntry[] {
    this.reloadIfChanged();
    return this.entries;
  }

  private reloadIfChanged(): void {
    const stat = fs.statSync(this.file);
    const version = `${stat.mtimeMs}:${stat.ino}:${stat.size}`;
    if (version === this.loadedVersion) return;
    let parsed: TokenFile;
    try {
      parsed = JSON.parse(fs.readFileSync(this.file, 'utf8')) as TokenFile;
    } catch (err) {
      throw new Error(`token file ${this.file} is not valid JSON`, { cause: err });
    }
    this.entries = Array.isArray(parsed.tokens) ? parsed.tokens : [];
    this.digests = this.entries.map((e) => sha256(e.token));
    this.loadedVersion = version;
  }

  private save(tokens: TokenEntry[]): void {
    writeSecretFile(this.file, JSON.stringify({ tokens } satisfies TokenFile, null, 2) + '\n');
    this.loadedVersion = '';
    this.reloadIfChanged();
  }
}

function sha256(s: string): Buffer {
  return crypto.createHash('sha256').update(s).digest();
}
