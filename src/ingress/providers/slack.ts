import { fresh, header, hmac, jsonObject, macMatches, objectIn, type Provider, reject, textIn, type Verifier } from './verifier.js';

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256("v0:" + ts + ":" + body)>` with
 * X-Slack-Request-Timestamp. A signed url_verification request is Slack
 * checking the URL: it is answered with its challenge and not appended. The
 * delivery id is event_id; the event is the inner event's type (`app_mention`
 * in an `event_callback`), else the outer type.
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
  const payload = jsonObject(body);
  const type = textIn(payload, 'type');
  if (type === 'url_verification') {
    return { ok: true, respond: { contentType: 'application/json', body: JSON.stringify({ challenge: textIn(payload, 'challenge') ?? '' }) } };
  }
  return { ok: true, deliveryId: textIn(payload, 'event_id'), eventType: textIn(objectIn(payload, 'event'), 'type') ?? type };
};

export const slack: Provider = {
  type: 'slack',
  summary: 'Slack: X-Slack-Signature; answers url_verification',
  needs: { secret: true, header: false },
  verify,
};
