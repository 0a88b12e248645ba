import { isUtf8 } from 'node:buffer';
import { strictDecode } from '../../domain/bytes.js';
import { fail } from '../../domain/errors.js';
import type { Message, MessageAttributes } from '../../domain/types.js';

// klev's wire form of messages: keys and values as UTF-8 text or standard
// base64, and a message as JSON with offset, time, key and value. Consume
// responses and egress webhook payloads alike use it.

/** How keys and values travel in JSON: UTF-8 text, or standard base64 for arbitrary bytes. */
export type Encoding = 'string' | 'base64';

/** An absent or empty encoding means `string`, as in klev. */
export function parseEncoding(value: unknown): Encoding {
  if (value === undefined || value === null || value === '' || value === 'string') return 'string';
  if (value === 'base64') return 'base64';
  fail('encoding_invalid', `encoding must be 'string' or 'base64', got ${JSON.stringify(value)}`);
}

export function decodeBytes(value: string, encoding: Encoding, field: string): Buffer {
  if (encoding === 'string') return Buffer.from(value, 'utf8');
  return strictDecode(value, 'base64') ?? fail('base64_invalid', `${field} is not valid standard base64`);
}

/**
 * The encoding to answer a page of messages in: `string` only when every key
 * and value is valid UTF-8, since decoding other bytes as text would change
 * them. Text read already decoded is valid by then (see Consumer).
 */
export function pageEncoding(requested: Encoding, messages: readonly Message<Buffer | string>[]): Encoding {
  if (requested === 'base64') return 'base64';
  const text = (bytes: Buffer | string | null) => bytes === null || typeof bytes === 'string' || isUtf8(bytes);
  return messages.every((message) => text(message.key) && text(message.value)) ? 'string' : 'base64';
}

/** Bytes as the encoding asks; text that was read already decoded passes through for `string`. */
function encodeBytes(value: Buffer | string, encoding: Encoding): string {
  if (typeof value === 'string') return encoding === 'string' ? value : Buffer.from(value, 'utf8').toString('base64');
  return encoding === 'string' ? value.toString('utf8') : value.toString('base64');
}

/**
 * klev's JSON form of a message, used by consume responses and by egress
 * webhook payloads alike. A nil key or value is left out, never turned into "";
 * so are attributes the message does not have.
 */
export function messageJson(message: Message<Buffer | string>, encoding: Encoding) {
  return {
    offset: message.offset,
    time: message.time,
    ...(message.key !== null && { key: encodeBytes(message.key, encoding) }),
    ...(message.value !== null && { value: encodeBytes(message.value, encoding) }),
    ...(message.headers && { headers: message.headers }),
    ...(message.attributes && attributesJson(message.attributes)),
  };
}

/** hooklog's extensions to klev's message: the attributes present, by klev-style names. */
function attributesJson({ eventType, eventId, channels, tags }: MessageAttributes) {
  return {
    ...(eventType !== undefined && { event_type: eventType }),
    ...(eventId !== undefined && { event_id: eventId }),
    ...(channels !== undefined && { channels }),
    ...(tags !== undefined && { tags }),
  };
}
