import { isUtf8 } from 'node:buffer';
import { HooklogError } from '../domain/errors.js';

/** A JSON escape of a UTF-16 surrogate: only these can make a parsed string that is not text. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

/**
 * Parses a JSON request body, refusing what is not text: bytes that are not
 * UTF-8 (decoding would turn them into U+FFFD), and strings holding a lone
 * surrogate (`"\ud800"`), which have no UTF-8 form and would be stored as
 * U+FFFD, so that two different keys collide. An empty body is no body.
 */
export function parseJsonBody(body: Buffer): unknown {
  if (!isUtf8(body)) throw new HooklogError('utf8_invalid', 'the request body is not valid UTF-8; send bytes with encoding base64');
  const text = body.toString('utf8');
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HooklogError('json_invalid', (err as Error).message);
  }
  if (SURROGATE_ESCAPE.test(text) && !wellFormed(value)) {
    throw new HooklogError('utf8_invalid', 'a string in the body holds a lone surrogate (\\ud800–\\udfff), which is not text; send bytes with encoding base64');
  }
  return value;
}

/** Whether every string and key in `value` is well-formed UTF-16. Iterative: bodies may nest deeper than the call stack. */
function wellFormed(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const item = pending.pop();
    if (typeof item === 'string') {
      if (!item.isWellFormed()) return false;
    } else if (Array.isArray(item)) {
      pending.push(...item);
    } else if (typeof item === 'object' && item !== null) {
      for (const [key, child] of Object.entries(item)) {
        if (!key.isWellFormed()) return false;
        pending.push(child);
      }
    }
  }
  return true;
}
