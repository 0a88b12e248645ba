import { createHmac } from 'node:crypto';
import { macMatches } from '../../domain/bytes.js';

/**
 * klev's egress signature: `X-Klev-Signature: t=<unix seconds>;v1=<hex>`,
 * where v1 is HMAC-SHA256 keyed with the secret string's bytes over
 * `<t>.<raw body>`. During a rotation there is one v1 per valid secret, so a
 * receiver holding either secret accepts the request.
 */
export const SIGNATURE_HEADER = 'x-klev-signature';

export function sign(secret: string, timestamp: number, body: Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

export function signatureHeader(secrets: readonly string[], timestamp: number, body: Buffer): string {
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${sign(secret, timestamp, body)}`)].join(';');
}

/** Receivers refuse signatures older or newer than this, in seconds, which stops replays of captured requests. */
export const TOLERANCE_SECONDS = 300;

/** Why a request was refused, and how to say it. */
export const REFUSALS = {
  missing_signature: `missing ${SIGNATURE_HEADER} header`,
  malformed_signature: 'malformed signature header',
  stale_timestamp: 'timestamp outside the tolerance',
  bad_signature: 'no signature matches the secret',
} as const;

export type Verification = { ok: true } | { ok: false; reason: keyof typeof REFUSALS };

/** Checks a signature header against one secret, with a tolerance on the timestamp in seconds. */
export function verifySignature(
  header: string | undefined,
  secret: string,
  body: Buffer,
  nowSeconds: number,
  toleranceSeconds = TOLERANCE_SECONDS,
): Verification {
  if (!header) return { ok: false, reason: 'missing_signature' };
  const parts = header.split(';').map((part) => part.trim());
  const timestamp = parts.find((part) => part.startsWith('t='))?.slice(2);
  const signatures = parts.filter((part) => part.startsWith('v1=')).map((part) => part.slice(3));
  if (!timestamp || !/^\d+$/.test(timestamp) || signatures.length === 0) return { ok: false, reason: 'malformed_signature' };
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return { ok: false, reason: 'stale_timestamp' };
  const expected = Buffer.from(sign(secret, Number(timestamp), body), 'hex');
  const matches = signatures.some((candidate) => macMatches(expected, candidate, 'hex'));
  return matches ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
