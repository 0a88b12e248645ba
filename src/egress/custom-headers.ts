import { fail } from '../domain/errors.js';
import type { CustomHeaders } from '../domain/types.js';
import { FIELD_NAME, FIELD_VALUE, HOP_BY_HOP } from '../protocols/http/headers.js';
import { SIGNATURE_HEADER } from '../protocols/klev/signature.js';
import { headerNames } from '../protocols/standard-webhooks/signature.js';

/** Bounds on what a destination's custom headers may hold: each request carries them all. */
export const MAX_CUSTOM_HEADERS = 20;
const MAX_NAME_LENGTH = 100;
const MAX_VALUE_LENGTH = 1000;
/** All of them together, as `name: value` lines: well under the 16 KiB of headers that Node (and many servers) accept in all. */
const MAX_TOTAL_BYTES = 8 * 1024;

/**
 * Headers no destination may set, whichever way it is signed: they would
 * change how the request is framed or routed (Host, Content-Length, Expect,
 * hop-by-hop headers), or stand in for the signature that hooklog computes.
 */
const REFUSED = new Set([
  'host',
  'content-length',
  'expect',
  ...HOP_BY_HOP,
  SIGNATURE_HEADER,
  ...Object.values(headerNames('webhook')),
  ...Object.values(headerNames('svix')),
]);

/** What a request carries besides the custom headers: a transformation sees and may change them too. */
const DEFAULT_HEADERS = ['content-type', 'user-agent'];

/**
 * Checks a destination's custom headers and returns them by lower-case name;
 * a header that would break the request is refused. `withDefaults`: the
 * headers a transformation gives back, which may also hold the defaults,
 * beyond the bounds.
 */
export function customHeaders(given: Record<string, string>, { withDefaults = false } = {}): CustomHeaders {
  const entries = Object.entries(given);
  const defaults = withDefaults ? entries.filter(([name]) => DEFAULT_HEADERS.includes(name.toLowerCase())).length : 0;
  if (entries.length - defaults > MAX_CUSTOM_HEADERS)
    fail('field_invalid', `headers may hold at most ${MAX_CUSTOM_HEADERS} headers, got ${entries.length - defaults}`);
  // No prototype: a header named __proto__ is a header like any other, not a no-op.
  const headers: CustomHeaders = Object.create(null);
  let total = 0;
  for (const [given, value] of entries) {
    const name = given.toLowerCase();
    if (!FIELD_NAME.test(given) || given.length > MAX_NAME_LENGTH) {
      fail('field_invalid', `headers: ${JSON.stringify(given)} is not a header name (letters, digits and !#$%&'*+.^_\`|~-, at most ${MAX_NAME_LENGTH})`);
    }
    if (REFUSED.has(name)) fail('field_invalid', `headers: ${given} cannot be set, since it would break the request or its signature`);
    if (Object.hasOwn(headers, name)) fail('field_invalid', `headers: ${given} is given twice (names are case-insensitive)`);
    if (!FIELD_VALUE.test(value) || value.length > MAX_VALUE_LENGTH) {
      fail('field_invalid', `headers: the value of ${given} must be at most ${MAX_VALUE_LENGTH} printable ASCII characters, spaces or tabs`);
    }
    headers[name] = value;
    if (!(withDefaults && DEFAULT_HEADERS.includes(name))) total += given.length + value.length + 4;
  }
  if (total > MAX_TOTAL_BYTES) fail('field_invalid', `headers: ${total} bytes in all, over the ${MAX_TOTAL_BYTES} allowed`);
  return headers;
}
