import { headerNames, secretKey, TOLERANCE_SECONDS, verify as verifySignature } from '../../protocols/standard-webhooks/signature.js';
import { header, jsonObject, type Provider, reject, textIn, type Verifier } from './verifier.js';

type Names = ReturnType<typeof headerNames>;

const REASONS = {
  stale_timestamp: (names: Names) => `${names.timestamp} is outside the ${TOLERANCE_SECONDS} s tolerance`,
  malformed_signature: (names: Names) => `${names.signature} has no v1 signature`,
  bad_signature: () => 'no v1 signature matches the body',
};

const STANDARD = headerNames('webhook');

/** Standard Webhooks, and Svix, which sends the same scheme under svix- header names; the delivery id is the message id, the event the body's type. */
const verify: Verifier = ({ body, headers, secret, nowSeconds }) => {
  const names = header(headers, STANDARD.signature) !== undefined ? STANDARD : headerNames('svix');
  const id = header(headers, names.id);
  const timestamp = header(headers, names.timestamp);
  const signature = header(headers, names.signature);
  if (!id || !timestamp || !signature) return reject('missing_signature', `missing ${STANDARD.id}, ${STANDARD.timestamp} or ${STANDARD.signature} header`);
  const key = secretKey(secret);
  if (!key) return reject('bad_signature', "the webhook's secret is not base64 (optionally prefixed with whsec_)");
  const verdict = verifySignature({ id, timestamp, signature, key, body, nowSeconds });
  if (!verdict.ok) return reject(verdict.reason, REASONS[verdict.reason](names));
  return { ok: true, deliveryId: id, eventType: textIn(jsonObject(body), 'type') };
};

export const standardWebhooks: Provider = {
  type: 'standard-webhooks',
  aliases: ['svix'],
  summary: 'Standard Webhooks and Svix: webhook-signature (or svix-signature)',
  needs: { secret: true, header: false },
  checkSecret: (secret) => (secretKey(secret) ? undefined : "a standard-webhooks secret is base64, optionally prefixed with 'whsec_'"),
  verify,
};
