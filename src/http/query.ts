import { fail } from '../domain/errors.js';

/** Names of query parameters that could not be decoded, kept apart from the parsed values. */
export const MALFORMED = Symbol('malformed query parameters');

export type Query = Record<string, string | string[]> & { [MALFORMED]?: string[] };

/**
 * A strict query-string parser. Percent-escapes must decode to UTF-8 (a
 * lenient parser keeps `%FF` as those three characters, silently a different
 * value), and characters outside printable ASCII must be escaped. Parameters
 * that break either rule are listed under MALFORMED for the request to be
 * refused; the parser itself must not throw, since it runs while routing.
 * The result has no prototype, so `constructor` is never a parameter.
 * A repeated name gives an array.
 */
export function parseQuery(text: string): Query {
  const query: Query = Object.create(null);
  if (text === '') return query;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const at = part.indexOf('=');
    const rawName = at < 0 ? part : part.slice(0, at);
    const name = decode(rawName);
    const value = decode(at < 0 ? '' : part.slice(at + 1));
    if (name === null || value === null) {
      (query[MALFORMED] ??= []).push(rawName);
      continue;
    }
    const previous = query[name];
    query[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return query;
}

function decode(raw: string): string | null {
  if (!/^[\x21-\x7e]*$/.test(raw)) return null;
  try {
    return decodeURIComponent(raw.replaceAll('+', ' '));
  } catch {
    return null;
  }
}

/** A time (ISO 8601) of the query, or of the body with `error` field_invalid, in ms. */
export function timeOf(raw: string | undefined, name: string, error: 'query_param_invalid' | 'field_invalid' = 'query_param_invalid'): number | undefined {
  if (raw === undefined) return undefined;
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) fail(error, `${name} must be an ISO 8601 time`);
  return ms;
}
