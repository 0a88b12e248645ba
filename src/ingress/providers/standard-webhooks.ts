import { secretKey, verify as verifySignature } from '../../protocols/standard-webhooks/signature.js';
import { header, type Provider, reject, type Verifier } from './verifier.js';

const REASONS = {
  stale_timestamp: (prefix: string) => `${prefix}-timestamp is outside the 300 s tolerance`,
  malformed_signature: (prefix: string) => `${prefix}-signature has no v1 signature`,
  bad_signature: () => 'no v1 signature matches the body',
};

/** Standard Webhooks, and Svix, which sends the same scheme under svix- header names; the delivery id is the message id. */
const verify: Verifier = ({ body, headers, secret, nowSeconds }) => {
  const prefix = header(headers, 'webhook-signature') !== undefined ? 'webhook' : 'svix';
  const id = header(headers, `${prefix}-id`);
  const timestamp = header(headers, `${prefix}-timestamp`);
  const signature = header(headers, `${prefix}-signature`);
  if (!id || !timestamp || !signature) return reject('missing_signature', 'missing webhook-id, webhook-timestamp or webhook-signature header');
  const key = secretKey(secret);
  if (!key) return reject('bad_signature', "the webhook's secret is not base64 (optionally prefixed with whsec_)");
  const verdict = verifySignature({ id, timestamp, signature, key, body, nowSeconds });
  return verdict.ok ? { ok: true, deliveryId: id } : reject(verdict.reason, REASONS[verdict.reason](prefix));
};

export const standardWebhooks: Provider = {
  type: 'standard-webhooks',
  aliases: ['svix'],
  summary: 'Standard Webhooks and Svix: webhook-signature (or svix-signature)',
  needs: { secret: true, header: false },
  checkSecret: (secret) => (secretKey(secret) ? undefined : "a standard-webhooks secret is base64, optionally prefixed with 'whsec_'"),
  verify,
};
