/** Storage failures in the words of the REST API (one mapping, used by every handler). */
import { StorageError } from '../storage';
import { ApiError, OBJECT_MODIFIED, alreadyExists, badRequest, conflict, gone, internalError, notFound, unavailable, type ErrorSubject } from '../server/errors';

export const toApiError = (err: unknown, subject: ErrorSubject): unknown => {
  if (!(err instanceof StorageError)) return err;
  switch (err.code) {
    case 'NotFound':
      return notFound(subject, { cause: err });
    case 'AlreadyExists':
      return alreadyExists(subject, { cause: err });
    case 'Conflict':
      return conflict(subject, OBJECT_MODIFIED, { cause: err });
    case 'BadRequest':
      return badRequest(err.message, { cause: err });
    case 'Gone':
      return gone(err.message);
    case 'TooLargeResourceVersion':
      return new ApiError(504, 'Timeout', `Too large resource version: ${err.message}`, { retryAfterSeconds: 1, causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }] }, { cause: err });
    case 'Unavailable':
      return unavailable(`storage is unavailable: ${err.message}`, { cause: err });
    default:
      return internalError(err.message, { cause: err });
  }
};

/** Runs a storage call, translating its StorageError. */
export const mapStorage = async <T>(subject: ErrorSubject, call: () => Promise<T>): Promise<T> => {
  try {
    return await call();
  } catch (err) {
    throw toApiError(err, subject);
  }
};
