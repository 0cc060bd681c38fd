import { AuthRequest, AuthResult, Authenticator, bearerToken } from './types';

/**
 * Tries each authenticator in order: the first `{ user }` wins; otherwise the first `{ error }` is reported.
 * Credentials that no authenticator recognises (a bearer token nobody issued) are an error, never anonymous.
 */
export class UnionAuthenticator implements Authenticator {
  constructor(private readonly authenticators: readonly Authenticator[]) {}

  async authenticate(req: AuthRequest): Promise<AuthResult> {
    let firstError: AuthResult = null;
    for (const authenticator of this.authenticators) {
      const result = await authenticator.authenticate(req);
      if (result === null) continue;
      if ('user' in result) return result;
      firstError ??= result;
    }
    if (firstError !== null) return firstError;
    if (bearerToken(req) !== undefined) return { error: 'invalid bearer token' };
    if (req.authorization) return { error: 'unsupported authorization scheme' };
    return null;
  }
}
