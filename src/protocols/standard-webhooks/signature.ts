import { createHmac } from 'node:crypto';
import { macMatches, strictDecode } from '../../domain/bytes.js';

/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com), which Svix
 * sends under svix- header names: the headers webhook-id, webhook-timestamp
 * (unix seconds) and webhook-signature, a space-separated list of
 * `v1,<base64 HMAC-SHA256(id.timestamp.body)>` keyed with the secret's key.
 */
const SECRET_PREFIX = 'whsec_';

/** The three headers, under the standard's names or Svix's (`svix-id`, …). */
export function headerNames(prefix: 'webhook' | 'svix') {
  return { id: `${prefix}-id`, timestamp: `${prefix}-timestamp`, signature: `${prefix}-signature` } as const;
}

/** Senders and receivers allow this much clock difference, in seconds. */
export const TOLERANCE_SECONDS = 300;

/**
 * The signing key in a secret: standard base64, with or without the `whsec_`
 * prefix and with or without its `=` padding, as the standardwebhooks and svix
 * libraries take it; undefined when the secret is not of that form or its key
 * is empty.
 */
export function secretKey(secret: string): Buffer | undefined {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  const key = strictDecode(encoded.padEnd(Math.ceil(encoded.length / 4) * 4, '='), 'base64');
  return key?.length ? key : undefined;
}

function mac(key: Buffer, id: string, timestampSeconds: string | number, body: Buffer): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest();
}

/** One signature, as it stands in the webhook-signature list. */
export function sign(key: Buffer, id: string, timestampSeconds: number, body: Buffer): string {
  return `v1,${mac(key, id, timestampSeconds, body).toString('base64')}`;
}

export type Verification = { ok: true } | { ok: false; reason: 'stale_timestamp' | 'malformed_signature' | 'bad_signature' };

/** Checks the three headers' values against `key`: the timestamp within the tolerance, and some v1 signature matching. */
export function verify(input: { id: string; timestamp: string; signature: string; key: Buffer; body: Buffer; nowSeconds: number }): Verification {
  const { id, timestamp, signature, key, body, nowSeconds } = input;
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  const candidates = signature.split(' ').filter((entry) => entry.startsWith('v1,'));
  if (candidates.length === 0) return { ok: false, reason: 'malformed_signature' };
  const expected = mac(key, id, timestamp, body);
  return candidates.some((entry) => macMatches(expected, entry.slice(3), 'base64')) ? { ok: true } : { ok: false, reason: 'bad_signature' };
}
