import { fail } from './errors.js';
import type { Message } from './types.js';

/** How keys and values travel in JSON: UTF-8 text, or standard base64 for arbitrary bytes. */
export type Encoding = 'string' | 'base64';

// Strict standard base64: Buffer.from(…, 'base64') silently skips bad characters,
// which would store bytes the publisher never sent.
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** An absent or empty encoding means `string`, as in klev. */
export function parseEncoding(value: unknown): Encoding {
  if (value === undefined || value === null || value === '' || value === 'string') return 'string';
  if (value === 'base64') return 'base64';
  fail('encoding_invalid', `encoding must be 'string' or 'base64', got ${JSON.stringify(value)}`);
}

export function decodeBytes(value: string, encoding: Encoding, field: string): Buffer {
  if (encoding === 'string') return Buffer.from(value, 'utf8');
  if (!BASE64_PATTERN.test(value)) fail('base64_invalid', `${field} is not valid standard base64`);
  return Buffer.from(value, 'base64');
}

/** Bytes as the encoding asks; text that was read already decoded passes through for `string`. */
function encodeBytes(value: Buffer | string, encoding: Encoding): string {
  if (typeof value === 'string') return encoding === 'string' ? value : Buffer.from(value, 'utf8').toString('base64');
  return encoding === 'string' ? value.toString('utf8') : value.toString('base64');
}

/**
 * klev's JSON form of a message, used by consume responses and by egress
 * webhook payloads alike. A nil key or value is left out, never turned into "".
 */
export function messageJson(message: Message<Buffer | string>, encoding: Encoding) {
  return {
    offset: message.offset,
    time: message.time,
    ...(message.key !== null && { key: encodeBytes(message.key, encoding) }),
    ...(message.value !== null && { value: encodeBytes(message.value, encoding) }),
    ...(message.headers && { headers: message.headers }),
  };
}
