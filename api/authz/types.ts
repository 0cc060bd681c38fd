import type { UserInfo } from '../auth';

/**
 * What a request wants to do, in Kubernetes' terms (`authorizer.Attributes`).
 * Resource requests carry `resource` (plural, e.g. `containers`); non-resource requests carry only `path`.
 */
export interface Attributes {
  /** get | list | watch | create | update | patch | delete | deletecollection; for non-resource paths the lower-case HTTP method (get, post, ...). */
  readonly verb: string;
  readonly isResourceRequest: boolean;
  /** '' for the core group. */
  readonly apiGroup?: string;
  readonly apiVersion?: string;
  readonly resource?: string;
  readonly subresource?: string;
  /** '' or undefined for cluster-scoped objects and all-namespace lists. */
  readonly namespace?: string;
  readonly name?: string;
  /** The URL path (always set for non-resource requests). */
  readonly path?: string;
  /** The raw `fieldSelector` of a list/watch, which the node authorizer inspects (`spec.nodeName=...`). */
  readonly fieldSelector?: string;
  /** The raw `labelSelector` of a list/watch (the node authorizer lets service proxies list Service-backed Containers). */
  readonly labelSelector?: string;
}

export interface Decision {
  readonly allowed: boolean;
  /** Why; safe to show the requesting user (never contains object contents). */
  readonly reason: string;
  /**
   * True when this authorizer has no opinion (the request is outside what it governs), so a union may ask the next
   * one. A definitive deny (`allowed: false, noOpinion: false`) stops the union.
   */
  readonly noOpinion?: boolean;
}

export interface Authorizer {
  authorize(user: UserInfo, attributes: Attributes): Decision | Promise<Decision>;
}

export const allow = (reason: string): Decision => ({ allowed: true, reason });
export const deny = (reason: string): Decision => ({ allowed: false, reason });
export const noOpinion = (reason = ''): Decision => ({ allowed: false, reason, noOpinion: true });
