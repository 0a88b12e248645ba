import { jsonText } from '../../domain/payload.js';
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
  return jsonText(value) ?? JSON.stringify(value === null ? '' : value.toString('utf8'));
}
