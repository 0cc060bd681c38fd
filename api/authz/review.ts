/**
 * `authorization.k8s.io/v1` SelfSubjectAccessReview and SubjectAccessReview: "may this user do this?" answered by
 * the same authorizer that guards requests (what `kubectl auth can-i` asks).
 */
import type { UserInfo } from '../auth';
import { Attributes, Authorizer } from './types';

export const AUTHORIZATION_API_VERSION = 'authorization.k8s.io/v1';
export type AccessReviewKind = 'SelfSubjectAccessReview' | 'SubjectAccessReview';

export interface ResourceAttributes {
  readonly namespace?: string;
  readonly verb?: string;
  readonly group?: string;
  readonly version?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly name?: string;
}

export interface AccessReviewSpec {
  readonly resourceAttributes?: ResourceAttributes;
  readonly nonResourceAttributes?: { readonly path?: string; readonly verb?: string };
  /** SubjectAccessReview only: whom to ask about. */
  readonly user?: string;
  readonly groups?: readonly string[];
  readonly uid?: string;
}

export interface AccessReview {
  readonly apiVersion: string;
  readonly kind: AccessReviewKind;
  readonly metadata: Record<string, unknown>;
  readonly spec: AccessReviewSpec;
  readonly status?: { allowed: boolean; denied?: boolean; reason?: string };
}

/** A request the server should answer with 422 Invalid (naming `field`). */
export class AccessReviewInvalidError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AccessReviewInvalidError';
  }
}

/** Turns a review's spec into authorization attributes; throws AccessReviewInvalidError when it names neither or both. */
export function reviewAttributes(spec: AccessReviewSpec): Attributes {
  const res = spec.resourceAttributes;
  const nonRes = spec.nonResourceAttributes;
  if ((res === undefined) === (nonRes === undefined)) {
    throw new AccessReviewInvalidError(
      'spec.resourceAttributes',
      'exactly one of spec.resourceAttributes or spec.nonResourceAttributes must be set',
    );
  }
  if (res !== undefined) {
    if (!res.verb) throw new AccessReviewInvalidError('spec.resourceAttributes.verb', 'verb is required');
    return {
      verb: res.verb,
      isResourceRequest: true,
      apiGroup: res.group ?? '',
      apiVersion: res.version,
      resource: res.resource,
      subresource: res.subresource || undefined,
      namespace: res.namespace || undefined,
      name: res.name || undefined,
    };
  }
  if (!nonRes?.path || !nonRes.verb) {
    throw new AccessReviewInvalidError('spec.nonResourceAttributes', 'path and verb are required');
  }
  return { verb: nonRes.verb, isResourceRequest: false, path: nonRes.path };
}

/**
 * Answers a review posted by `requester`. A SelfSubjectAccessReview asks about the requester; a
 * SubjectAccessReview about `spec.user`/`spec.groups` (the server must have authorized the requester to create
 * subjectaccessreviews — by default only cluster admins). Returns the review with `status` filled in.
 */
export async function reviewAccess(
  kind: AccessReviewKind,
  body: unknown,
  requester: UserInfo,
  authorizer: Authorizer,
): Promise<AccessReview> {
  if (typeof body !== 'object' || body === null) throw new AccessReviewInvalidError('spec', 'body must be an object');
  const review = body as Partial<AccessReview>;
  const spec: AccessReviewSpec = review.spec ?? {};
  const attrs = reviewAttributes(spec);
  let subject: UserInfo;
  if (kind === 'SelfSubjectAccessReview') {
    subject = requester;
  } else {
    if (!spec.user && !(spec.groups && spec.groups.length > 0)) {
      throw new AccessReviewInvalidError('spec.user', 'at least one of user or groups must be specified');
    }
    subject = { username: spec.user ?? '', groups: [...(spec.groups ?? [])], uid: spec.uid };
  }
  const decision = await authorizer.authorize(subject, attrs);
  return {
    apiVersion: AUTHORIZATION_API_VERSION,
    kind,
    metadata: { ...(review.metadata ?? {}), creationTimestamp: null },
    spec,
    status: decision.allowed
      ? { allowed: true, reason: decision.reason }
      : { allowed: false, ...(decision.noOpinion === false ? { denied: true } : {}), reason: decision.reason },
  };
}
