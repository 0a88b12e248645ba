import { header, hmac, macMatches, type Provider, reject, type Verifier } from './verifier.js';

/** Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(body)>`; the delivery id is X-Shopify-Webhook-Id, the event X-Shopify-Topic. */
const verify: Verifier = ({ body, headers, secret }) => {
  const signature = header(headers, 'x-shopify-hmac-sha256');
  if (!signature) return reject('missing_signature', 'missing X-Shopify-Hmac-Sha256 header');
  if (!macMatches(hmac('sha256', secret, body), signature, 'base64')) return reject('bad_signature', 'X-Shopify-Hmac-Sha256 does not match the body');
  return { ok: true, deliveryId: header(headers, 'x-shopify-webhook-id'), eventType: header(headers, 'x-shopify-topic') };
};

export const shopify: Provider = {
  type: 'shopify',
  summary: 'Shopify: X-Shopify-Hmac-Sha256',
  needs: { secret: true, header: false },
  verify,
};
