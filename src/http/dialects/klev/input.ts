import { type ErrorName, fail } from '../../../domain/errors.js';
import { type IdPrefix, invalidId, isId } from '../../../domain/ids.js';

/**
 * What klev's query parameters mean, once the route's schema has checked
 * each is given once, as text: an id, a whole number in a range, a boolean.
 */

export function requireId(prefix: IdPrefix, value: string | undefined, field: string): string {
  if (value === undefined || !isId(prefix, value)) throw invalidId(prefix, field, value);
  return value;
}

/** A whole number within [min, max], failing with `error` otherwise. */
export function queryInteger(raw: string | undefined, name: string, range: { min: number; max: number }, error: ErrorName): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^-?\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    fail(error, `${name} must be a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** true or false; absent is false. */
export function queryBoolean(raw: string | undefined, name: string): boolean {
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  fail('query_param_invalid', `${name} must be true or false, got ${JSON.stringify(raw)}`);
}
