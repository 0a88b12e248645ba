import { header, hmac, macMatches, type Provider, reject, type Verifier } from './verifier.js';

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body)>`; the delivery id is X-GitHub-Delivery, the event X-GitHub-Event. */
const verify: Verifier = ({ body, headers, secret }) => {
  const signature = header(headers, 'x-hub-signature-256');
  if (!signature) return reject('missing_signature', 'missing X-Hub-Signature-256 header');
  if (!signature.startsWith('sha256=')) return reject('malformed_signature', "X-Hub-Signature-256 must start with 'sha256='");
  if (!macMatches(hmac('sha256', secret, body), signature.slice(7), 'hex')) return reject('bad_signature', 'X-Hub-Signature-256 does not match the body');
  return { ok: true, deliveryId: header(headers, 'x-github-delivery'), eventType: header(headers, 'x-github-event') };
};

export const github: Provider = {
  type: 'github',
  aliases: ['gitHub'],
  summary: 'GitHub: X-Hub-Signature-256',
  needs: { secret: true, header: false },
  verify,
};
