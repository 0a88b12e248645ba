import { isUtf8 } from 'node:buffer';
import type { Message } from '../../domain/types.js';

// Kaiman Webhooks Proxy's wire form of a pending webhook, as its GET answers
// them: {"headers": {...}, "payload": ..., "received_at": <unix seconds>}.

/**
 * One webhook as JSON text. A body that is JSON is the payload as it came,
 * byte for byte (numbers keep their precision); any other body is the payload
 * as a string, decoded as UTF-8 (invalid bytes become U+FFFD).
 */
export function kwpWebhookJson(message: Message): string {
  const headers = JSON.stringify(message.headers ?? {});
  const receivedAt = Math.floor(message.time / 1_000_000);
  return `{"headers":${headers},"payload":${payloadJson(message.value)},"received_at":${receivedAt}}`;
}

function payloadJson(value: Buffer | null): string {
  if (value === null) return '""';
  const text = value.toString('utf8');
  if (isUtf8(value) && text.trim() !== '') {
    try {
      JSON.parse(text);
      return text;
    } catch {
      // Not JSON: sent as a string below.
    }
  }
  return JSON.stringify(text);
}
