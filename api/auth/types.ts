/** Who made a request, as every authenticator reports it (the shape of Kubernetes' `user.Info`). */
export interface UserInfo {
  readonly username: string;
  readonly groups: readonly string[];
  readonly uid?: string;
}

/**
 * What an authenticator concludes about one request:
 * - `{ user }` — the credentials are valid;
 * - `{ error }` — credentials of this kind were presented and are invalid (forged, expired, revoked, wrong CA): 401;
 * - `null` — no credentials of this kind were presented; the next authenticator may try.
 */
export type AuthResult = { readonly user: UserInfo } | { readonly error: string } | null;

/** The parts of a request authenticators look at; kept free of express so they test without HTTP. */
export interface AuthRequest {
  /** The raw `Authorization` header, if any. */
  readonly authorization?: string;
  /** The DER of the client's TLS certificate, if it presented one (mutual TLS). */
  readonly clientCertificateDer?: Buffer;
}

export interface Authenticator {
  /** Never throws for bad credentials: it returns `{ error }`. */
  authenticate(req: AuthRequest): AuthResult | Promise<AuthResult>;
}

export const GROUP_AUTHENTICATED = 'system:authenticated';
export const GROUP_MASTERS = 'system:masters';
export const GROUP_NODES = 'system:nodes';
export const GROUP_SERVICEACCOUNTS = 'system:serviceaccounts';
export const NODE_USER_PREFIX = 'system:node:';
export const SERVICEACCOUNT_USER_PREFIX = 'system:serviceaccount:';

/** Reads the bearer token from an `Authorization: Bearer <token>` header; undefined when absent or another scheme. */
export function bearerToken(req: AuthRequest): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(req.authorization ?? '');
  return match?.[1];
}
