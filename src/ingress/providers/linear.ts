import { fresh, header, hmac, jsonObject, macMatches, type Provider, reject, textIn, type Verifier, valueIn } from './verifier.js';

/** @linear/sdk refuses a delivery whose timestamp is more than a minute from now; we hold senders to the same. */
const LINEAR_TOLERANCE_MS = 60_000;

/**
 * Linear: `Linear-Signature: <hex HMAC-SHA256(body)>`, then a timestamp in ms
 * within 60 s, as @linear/sdk checks it: the Linear-Timestamp header, the
 * body's `webhookTimestamp`, or both. Every one present must be fresh. The SDK
 * prefers the header, but the header is not signed: an old delivery sent
 * again with a fresh header must still be refused by its signed field. The
 * delivery id is Linear-Delivery; the event is the body's type (`Issue`).
 */
const verify: Verifier = ({ body, headers, secret, nowSeconds }) => {
  const signature = header(headers, 'linear-signature');
  if (!signature) return reject('missing_signature', 'missing Linear-Signature header');
  if (!macMatches(hmac('sha256', secret, body), signature, 'hex')) return reject('bad_signature', 'Linear-Signature does not match the body');
  const payload = jsonObject(body);
  const timestampsMs = [header(headers, 'linear-timestamp'), bodyTimestamp(payload)].filter((timestamp) => timestamp !== undefined);
  if (timestampsMs.length === 0 || timestampsMs.some((timestamp) => !/^\d+$/.test(timestamp))) {
    return reject('malformed_signature', 'needs a Linear-Timestamp header or a webhookTimestamp body field, in ms since the epoch');
  }
  if (!timestampsMs.every((timestamp) => fresh(timestamp, nowSeconds * 1000, LINEAR_TOLERANCE_MS))) {
    return reject('stale_timestamp', 'the Linear timestamp is outside the 60 s tolerance');
  }
  return { ok: true, deliveryId: header(headers, 'linear-delivery'), eventType: textIn(payload, 'type') };
};

/** The body's webhookTimestamp, which Linear sends as a JSON number. */
function bodyTimestamp(payload: ReturnType<typeof jsonObject>): string | undefined {
  const value = valueIn(payload, 'webhookTimestamp');
  return typeof value === 'number' ? String(value) : undefined;
}

export const linear: Provider = {
  type: 'linear',
  summary: 'Linear: Linear-Signature and its timestamp',
  needs: { secret: true, header: false },
  verify,
};
