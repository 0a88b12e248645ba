import { SIGNATURE_HEADER, verifySignature } from '../../delivery/signing.js';
import { TOLERANCE_SECONDS, type Verifier, header, reject } from './verifier.js';

/**
 * klev-message, klev-key and klev-value: the X-Klev-Signature that hooklog's
 * own egress webhooks send, so one hooklog can feed another. The three differ
 * only in what the sender puts in the body.
 */
export const klev: Verifier = ({ body, headers, secret, now }) => {
  const signature = header(headers, SIGNATURE_HEADER);
  if (!signature) return reject('missing_signature', 'missing X-Klev-Signature header');
  const verdict = verifySignature(signature, secret, body, now, TOLERANCE_SECONDS);
  if (verdict.ok) return { ok: true };
  if (verdict.reason.startsWith('timestamp')) return reject('stale_timestamp', `X-Klev-Signature ${verdict.reason}`);
  if (verdict.reason.startsWith('malformed')) return reject('malformed_signature', `X-Klev-Signature: ${verdict.reason}`);
  return reject('bad_signature', `X-Klev-Signature: ${verdict.reason}`);
};
