import { fresh, header, hmac, jsonObject, macMatches, type Provider, pairsOf, reject, textIn, type Verifier } from './verifier.js';

/** Paddle's own SDK allows this much clock difference; we hold senders to the same. */
const PADDLE_TOLERANCE_SECONDS = 5;

/** Paddle: `Paddle-Signature: ts=…;h1=…`, hex HMAC-SHA256 of `ts:body`; the delivery id is the event's event_id, the event its event_type. */
const verify: Verifier = ({ body, headers, secret, nowSeconds }) => {
  const signature = header(headers, 'paddle-signature');
  if (!signature) return reject('missing_signature', 'missing Paddle-Signature header');
  const pairs = pairsOf(signature, ';');
  const timestamp = pairs.find(([name]) => name === 'ts')?.[1];
  const candidates = pairs.filter(([name]) => name === 'h1').map(([, value]) => value);
  if (!timestamp || candidates.length === 0) return reject('malformed_signature', 'Paddle-Signature needs ts= and h1=');
  if (!fresh(timestamp, nowSeconds, PADDLE_TOLERANCE_SECONDS)) return reject('stale_timestamp', 'Paddle-Signature timestamp is outside the 5 s tolerance');
  const expected = hmac('sha256', secret, `${timestamp}:`, body);
  if (!candidates.some((candidate) => macMatches(expected, candidate, 'hex'))) return reject('bad_signature', 'no h1 signature matches the body');
  const event = jsonObject(body);
  return { ok: true, deliveryId: textIn(event, 'event_id'), eventType: textIn(event, 'event_type') };
};

export const paddle: Provider = {
  type: 'paddle',
  summary: 'Paddle: Paddle-Signature',
  needs: { secret: true, header: false },
  verify,
};
