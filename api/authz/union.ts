import type { UserInfo } from '../auth';
import { Attributes, Authorizer, Decision, deny } from './types';

/**
 * Asks each authorizer in order: the first allow wins, the first definitive deny stops; if all have no opinion the
 * request is denied, with the most specific reason any of them gave.
 */
export class UnionAuthorizer implements Authorizer {
  constructor(private readonly authorizers: readonly Authorizer[]) {}

  async authorize(user: UserInfo, attrs: Attributes): Promise<Decision> {
    const reasons: string[] = [];
    for (const authorizer of this.authorizers) {
      const decision = await authorizer.authorize(user, attrs);
      if (decision.allowed) return decision;
      if (!decision.noOpinion) return decision;
      if (decision.reason) reasons.push(decision.reason);
    }
    return deny(reasons.join('; '));
  }
}
