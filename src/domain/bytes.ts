import { timingSafeEqual } from 'node:crypto';

// Strict standard base64 and hex: Buffer.from(…) silently skips bad characters
// and a trailing odd hex digit, which would store bytes the publisher never sent
// and let `<signature>zz` pass for `<signature>`.
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HEX_PATTERN = /^(?:[0-9A-Fa-f]{2})*$/;

/** The bytes `text` spells, or undefined when it is not strictly in `encoding`. */
export function strictDecode(text: string, encoding: 'hex' | 'base64'): Buffer | undefined {
  return (encoding === 'hex' ? HEX_PATTERN : BASE64_PATTERN).test(text) ? Buffer.from(text, encoding) : undefined;
}

/** Constant-time comparison of a computed MAC with one given as text; text not strictly in `encoding` never matches. */
export function macMatches(expected: Buffer, given: string, encoding: 'hex' | 'base64'): boolean {
  const decoded = strictDecode(given, encoding);
  return decoded !== undefined && decoded.length === expected.length && timingSafeEqual(decoded, expected);
}
