/** What the client throws when the API server answers with an error `Status`. */

export interface Status {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; group?: string; kind?: string; causes?: Array<{ reason?: string; message?: string; field?: string }> };
}

export class ApiStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: Status,
    readonly method: string,
    readonly path: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${status.reason ?? ''}: ${status.message ?? ''}`.trim());
    this.name = 'ApiStatusError';
  }
  get reason(): string | undefined {
    return this.status.reason;
  }
}

export const isNotFoundError = (e: unknown): boolean => e instanceof ApiStatusError && e.statusCode === 404;
export const isConflictError = (e: unknown): boolean => e instanceof ApiStatusError && e.statusCode === 409;
export const isAlreadyExistsError = (e: unknown): boolean => e instanceof ApiStatusError && e.status.reason === 'AlreadyExists';

/** A watch asked for a resourceVersion the server no longer has (410): list again. */
export class WatchExpiredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WatchExpiredError';
  }
}
