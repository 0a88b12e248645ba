import { type ErrorName, fail } from '../../../domain/errors.js';
import { type IdPrefix, isId } from '../../../domain/ids.js';

/**
 * Readers for request input. Each checks one field's type and fails with a
 * coded error naming the field, so handlers read like the API documentation.
 */
export type Body = Record<string, unknown>;

export function objectBody(body: unknown): Body {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) fail('field_invalid', 'the request body must be a JSON object');
  return body as Body;
}

export function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') fail('field_invalid', `${field} must be a string`);
  return value;
}

/** A key or value: a string, or absent/null for nil. */
export function optionalBytes(body: Body, field: string): string | null {
  const value = body[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') fail('field_invalid', `${field} must be a string or null`);
  return value;
}

export function optionalBoolean(body: Body, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') fail('field_invalid', `${field} must be true or false`);
  return value;
}

export function optionalInteger(body: Body, field: string, min: number): number | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail('field_invalid', `${field} must be a whole number >= ${min}`);
  }
  return value;
}

export function requiredInteger(body: Body, field: string, min: number): number {
  return optionalInteger(body, field, min) ?? fail('field_invalid', `${field} is required`);
}

export function optionalStringArray(body: Body, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) fail('field_invalid', `${field} must be an array of strings`);
  return value as string[];
}

export function requiredArray(body: Body, field: string): unknown[] {
  const value = body[field];
  if (!Array.isArray(value)) fail('field_invalid', `${field} must be an array`);
  return value;
}

export function requireId(prefix: IdPrefix, value: string | undefined, field: string): string {
  if (value === undefined || !isId(prefix, value)) {
    fail('id_invalid', `${field} must be '${prefix}_' followed by a 27-character KSUID, got ${JSON.stringify(value ?? '')}`);
  }
  return value;
}

type Query = Record<string, string | string[] | undefined>;

/** A single query parameter; repeating it is an error rather than a silent pick. */
export function queryParam(query: unknown, name: string): string | undefined {
  const value = (query as Query)[name];
  if (Array.isArray(value)) fail('query_param_invalid', `${name} is given more than once`);
  return value;
}

/** A whole-number query parameter within [min, max], failing with `error` otherwise. */
export function queryInteger(query: unknown, name: string, range: { min: number; max: number }, error: ErrorName): number | undefined {
  const raw = queryParam(query, name);
  if (raw === undefined) return undefined;
  const value = /^-?\d{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    fail(error, `${name} must be a whole number from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/** A true/false query parameter; absent is false. */
export function queryBoolean(query: unknown, name: string): boolean {
  const raw = queryParam(query, name);
  if (raw === undefined || raw === 'false') return false;
  if (raw === 'true') return true;
  fail('query_param_invalid', `${name} must be true or false, got ${JSON.stringify(raw)}`);
}
