import { fresh, header, hmac, jsonField, macMatches, type Provider, reject, type Verifier } from './verifier.js';

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256("v0:" + ts + ":" + body)>` with
 * X-Slack-Request-Timestamp. A signed url_verification request is Slack
 * checking the URL: it is answered with its challenge and not appended.
 */
const verify: Verifier = ({ body, headers, secret, nowSeconds }) => {
  const signature = header(headers, 'x-slack-signature');
  const timestamp = header(headers, 'x-slack-request-timestamp');
  if (!signature || !timestamp) return reject('missing_signature', 'missing X-Slack-Signature or X-Slack-Request-Timestamp header');
  if (!signature.startsWith('v0=')) return reject('malformed_signature', "X-Slack-Signature must start with 'v0='");
  if (!fresh(timestamp, nowSeconds)) return reject('stale_timestamp', 'X-Slack-Request-Timestamp is outside the 300 s tolerance');
  if (!macMatches(hmac('sha256', secret, `v0:${timestamp}:`, body), signature.slice(3), 'hex')) {
    return reject('bad_signature', 'X-Slack-Signature does not match the body');
  }
  if (jsonField(body, 'type') === 'url_verification') {
    return { ok: true, respond: { contentType: 'application/json', body: JSON.stringify({ challenge: jsonField(body, 'challenge') ?? '' }) } };
  }
  return { ok: true, deliveryId: jsonField(body, 'event_id') };
};

export const slack: Provider = {
  type: 'slack',
  summary: 'Slack: X-Slack-Signature; answers url_verification',
  needs: { secret: true, header: false },
  verify,
};
