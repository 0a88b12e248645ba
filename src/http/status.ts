import type { ErrorKind } from '../domain/errors.js';

/** The one place where an error's kind becomes an HTTP status. */
export const statusOf: Record<ErrorKind, number> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  unsupported_media_type: 415,
  too_large: 413,
  unavailable: 503,
  internal: 500,
};
