import { type Verifier, fresh, header, hmac, matches, reject } from './verifier.js';

const SECRET_PREFIX = 'whsec_';

/** The signing key inside a `whsec_<base64>` secret, or null when the secret is not of that form. */
export function standardWebhooksKey(secret: string): Buffer | null {
  if (!secret.startsWith(SECRET_PREFIX)) return null;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  return Buffer.from(encoded, 'base64');
}

/**
 * Standard Webhooks (and Svix, which uses the same scheme with svix- headers):
 * webhook-id, webhook-timestamp and webhook-signature, a space-separated list
 * of `v1,<base64 HMAC-SHA256(id.timestamp.body)>` keyed with the base64 part of
 * the `whsec_` secret.
 */
export const standardWebhooks: Verifier = ({ body, headers, secret, now }) => {
  const prefix = header(headers, 'webhook-signature') !== undefined ? 'webhook' : 'svix';
  const id = header(headers, `${prefix}-id`);
  const timestamp = header(headers, `${prefix}-timestamp`);
  const signature = header(headers, `${prefix}-signature`);
  if (!id || !timestamp || !signature) return reject('missing_signature', 'missing webhook-id, webhook-timestamp or webhook-signature header');
  const key = standardWebhooksKey(secret);
  if (!key) return reject('bad_signature', "the webhook's secret is not a whsec_ secret");
  if (!fresh(timestamp, now)) return reject('stale_timestamp', `${prefix}-timestamp is outside the 300 s tolerance`);
  const expected = hmac('sha256', key, `${id}.${timestamp}.`, body);
  const candidates = signature.split(' ').filter((entry) => entry.startsWith('v1,'));
  if (candidates.length === 0) return reject('malformed_signature', `${prefix}-signature has no v1 signature`);
  if (!candidates.some((entry) => matches(expected, entry.slice(3), 'base64'))) return reject('bad_signature', 'no v1 signature matches the body');
  return { ok: true, deliveryId: id };
};
