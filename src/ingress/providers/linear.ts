import { type Verifier, header, hmac, matches, reject } from './verifier.js';

/** Linear: `Linear-Signature: <hex HMAC-SHA256(body)>`; the delivery id is Linear-Delivery. */
export const linear: Verifier = ({ body, headers, secret }) => {
  const signature = header(headers, 'linear-signature');
  if (!signature) return reject('missing_signature', 'missing Linear-Signature header');
  if (!matches(hmac('sha256', secret, body), signature, 'hex')) return reject('bad_signature', 'Linear-Signature does not match the body');
  return { ok: true, deliveryId: header(headers, 'linear-delivery') };
};
