import type { DeliveryRequest, EgressPayload, EgressWebhook, Message } from '../domain/types.js';
import { messageJson, pageEncoding } from '../protocols/klev/message.js';

export interface Payload {
  body: Buffer;
  contentType: string;
}

/**
 * The body of a delivery. `message` is klev's JSON with offset, time, key and
 * value; its encoding is `string` when key and value are valid UTF-8, which
 * keeps ordinary payloads readable, and `base64` otherwise, which keeps every
 * byte. `key` and `value` send those raw bytes (empty for nil).
 */
export function payloadOf(kind: EgressPayload, message: Message): Payload {
  if (kind === 'key') return { body: message.key ?? Buffer.alloc(0), contentType: 'application/octet-stream' };
  if (kind === 'value') return { body: message.value ?? Buffer.alloc(0), contentType: 'application/octet-stream' };
  const encoding = pageEncoding('string', [message]);
  return { body: Buffer.from(JSON.stringify({ encoding, ...messageJson(message, encoding) })), contentType: 'application/json' };
}

/** The request that delivers `message` to `webhook`, before any transformation and without its signature. */
export function requestOf(webhook: Pick<EgressWebhook, 'payload' | 'destination' | 'headers' | 'signing'>, message: Message): DeliveryRequest {
  const payload = payloadOf(webhook.payload, message);
  // A Svix message's payload is JSON, and Svix sends it labelled so.
  if (webhook.signing === 'svix' && webhook.payload === 'value') payload.contentType = 'application/json';
  // Custom headers may replace the defaults, never the signature (custom-headers.ts refuses its names).
  return {
    method: 'POST',
    url: webhook.destination,
    headers: { 'content-type': payload.contentType, 'user-agent': 'hooklog', ...webhook.headers },
    body: payload.body,
  };
}
