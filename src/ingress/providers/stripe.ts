import { fresh, header, hmac, jsonObject, macMatches, type Provider, pairsOf, reject, textIn, type Verifier } from './verifier.js';

/** Stripe: `Stripe-Signature: t=…,v1=…[,v1=…]`, hex HMAC-SHA256 of `t.body`; the delivery id is the event's id, the event its type. */
const verify: Verifier = ({ body, headers, secret, nowSeconds }) => {
  const signature = header(headers, 'stripe-signature');
  if (!signature) return reject('missing_signature', 'missing Stripe-Signature header');
  const pairs = pairsOf(signature, ',');
  const timestamp = pairs.find(([name]) => name === 't')?.[1];
  const candidates = pairs.filter(([name]) => name === 'v1').map(([, value]) => value);
  if (!timestamp || candidates.length === 0) return reject('malformed_signature', 'Stripe-Signature needs t= and at least one v1=');
  if (!fresh(timestamp, nowSeconds)) return reject('stale_timestamp', 'Stripe-Signature timestamp is outside the 300 s tolerance');
  const expected = hmac('sha256', secret, `${timestamp}.`, body);
  if (!candidates.some((candidate) => macMatches(expected, candidate, 'hex'))) return reject('bad_signature', 'no v1 signature matches the body');
  const event = jsonObject(body);
  return { ok: true, deliveryId: textIn(event, 'id'), eventType: textIn(event, 'type') };
};

export const stripe: Provider = {
  type: 'stripe',
  summary: 'Stripe: Stripe-Signature',
  needs: { secret: true, header: false },
  verify,
};
