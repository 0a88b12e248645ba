import { REFUSALS, SIGNATURE_HEADER, verifySignature } from '../../protocols/klev/signature.js';
import { header, type Provider, reject, type Verifier } from './verifier.js';

/**
 * klev-message, klev-key and klev-value: the X-Klev-Signature that hooklog's
 * own egress webhooks send, so one hooklog can feed another. The three differ
 * only in what the sender puts in the body.
 */
const verify: Verifier = ({ body, headers, secret, nowSeconds }) => {
  const signature = header(headers, SIGNATURE_HEADER);
  if (!signature) return reject('missing_signature', 'missing X-Klev-Signature header');
  const verdict = verifySignature(signature, secret, body, nowSeconds);
  if (verdict.ok) return { ok: true };
  const text = REFUSALS[verdict.reason];
  return reject(verdict.reason, verdict.reason === 'stale_timestamp' ? `X-Klev-Signature ${text}` : `X-Klev-Signature: ${text}`);
};

const klev = (body: string): Provider => ({
  type: `klev-${body}`,
  summary: `another hooklog's egress webhook, payload ${body}: X-Klev-Signature`,
  needs: { secret: true, header: false },
  verify,
});

export const klevMessage = klev('message');
export const klevKey = klev('key');
export const klevValue = klev('value');
