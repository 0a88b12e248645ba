import { fail } from './errors.js';

/** Svix's bound on a rate limit (a u16), for endpoints and applications alike. */
export const MAX_RATE_LIMIT = 65_535;

/** Fails unless `limit` is null (no limit) or a whole number of requests per second within the bound. */
export function checkRateLimit(limit: number | null): number | null {
  if (limit !== null && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_RATE_LIMIT)) {
    fail('field_invalid', `the rate limit must be a whole number of requests per second from 1 to ${MAX_RATE_LIMIT}`);
  }
  return limit;
}
