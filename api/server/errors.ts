/**
 * Kubernetes `Status` errors. Every failure the API server answers with is an ApiError, turned into a `Status`
 * body in exactly one place (status-middleware.ts), with the reasons and codes Kubernetes uses so clients
 * (kubectl, client-node) react to them as they would against Kubernetes.
 */
import { invalidMessage, type FieldError, type ResourceInfo } from '../schema';

export interface StatusCause {
  readonly reason?: string;
  readonly message: string;
  readonly field?: string;
}

export interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: StatusCause[];
  readonly retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
  }

  toStatus(): StatusBody {
    const body: StatusBody = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) body.details = this.details;
    return body;
  }
}

/** What an error is about: `plural.group` and the object's name, as Kubernetes phrases messages. */
export interface ErrorSubject {
  readonly group: string;
  readonly plural: string;
  readonly name?: string;
}

/** `containers.berth.dev`, or just `namespaces` for the core group. */
export const qualifiedResource = (s: ErrorSubject): string => (s.group ? `${s.plural}.${s.group}` : s.plural);

const detailsOf = (s: ErrorSubject): StatusDetails => ({ name: s.name, group: s.group || undefined, kind: s.plural });

export const notFound = (s: ErrorSubject, options?: { cause?: unknown }): ApiError =>
  new ApiError(404, 'NotFound', `${qualifiedResource(s)} "${s.name ?? ''}" not found`, detailsOf(s), options);

export const alreadyExists = (s: ErrorSubject, options?: { cause?: unknown }): ApiError =>
  new ApiError(409, 'AlreadyExists', `${qualifiedResource(s)} "${s.name ?? ''}" already exists`, detailsOf(s), options);

export const conflict = (s: ErrorSubject, why: string, options?: { cause?: unknown }): ApiError =>
  new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(s)} "${s.name ?? ''}": ${why}`, detailsOf(s), options);

export const OBJECT_MODIFIED =
  'the object has been modified; please apply your changes to the latest version and try again';

/** 422 naming every offending field, worded by the schema module as Kubernetes words it. */
export const invalid = (info: Pick<ResourceInfo, 'kind' | 'group'>, name: string | undefined, errors: readonly FieldError[]): ApiError =>
  new ApiError(422, 'Invalid', invalidMessage(info, name, errors), {
    name,
    group: info.group || undefined,
    kind: info.kind,
    causes: errors.map((e) => ({ reason: e.reason, message: e.message, field: e.field })),
  });

export const badRequest = (message: string, options?: { cause?: unknown }): ApiError =>
  new ApiError(400, 'BadRequest', message, undefined, options);

export const gone = (message: string): ApiError => new ApiError(410, 'Expired', message);

export const forbidden = (message: string, s?: ErrorSubject): ApiError =>
  new ApiError(403, 'Forbidden', message, s ? detailsOf(s) : undefined);

export const methodNotAllowed = (message: string): ApiError => new ApiError(405, 'MethodNotAllowed', message);

export const unsupportedMediaType = (contentType: string): ApiError =>
  new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/merge-patch+json, application/json-patch+json, application/apply-patch+yaml (got ${contentType})`);

export const notAcceptable = (message: string): ApiError => new ApiError(406, 'NotAcceptable', message);

export const tooLarge = (limit: number): ApiError =>
  new ApiError(413, 'RequestEntityTooLarge', `the request body is too large: the limit is ${limit} bytes`);

export const internalError = (message: string, options?: { cause?: unknown }): ApiError =>
  new ApiError(500, 'InternalError', `Internal error occurred: ${message}`, undefined, options);

export const unavailable = (message: string, options?: { cause?: unknown }): ApiError =>
  new ApiError(503, 'ServiceUnavailable', message, undefined, options);
