import { createHmac } from 'node:crypto';
import { sign as githubSign } from '@octokit/webhooks-methods';
import { Paddle } from '@paddle/paddle-node-sdk';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import Stripe from 'stripe';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

/**
 * Every verifier type, through the real server. Where a provider publishes a
 * signing library on npm, its signatures come from that library; Paddle's SDK
 * only verifies, so it checks our test signer before the signer is used.
 * Slack, Shopify and Linear publish no signing library that runs on Node 20,
 * so their test signer follows their documentation.
 */
type Headers = Record<string, string>;
interface Provider {
  type: string;
  secret: string;
  wrongSecret: string;
  /** Signs `body` as the provider would, at unix time `t`. */
  sign(body: Buffer, secret: string, t: number): Promise<Headers> | Headers;
  /** The header without which the request must be refused. */
  signatureHeader: string;
  /** The signature header holds the secret itself, so it must not be stored with the message. */
  secretInHeader?: boolean;
  /** The delivery id the provider sends, if any: it becomes the message key. */
  deliveryId?: string;
  hasTimestamp: boolean;
  /**
   * Whether the signer can sign arbitrary bytes. The providers' libraries take
   * strings (bodies are UTF-8 JSON in real life), so binary bodies are tested
   * through the signers that work on bytes.
   */
  bytesSafe: boolean;
  /** Allowed clock difference in seconds, when the scheme has a timestamp. */
  tolerance?: number;
  options?: Record<string, string>;
  /** A delivery as the provider sends it that names its event: kept as event_type, and the delivery id as event_id. */
  event?: { body: string; headers?: Headers; eventType: string; eventId: string };
}

const hex = (algorithm: string, key: string | Buffer, ...parts: Array<string | Buffer>) => {
  const mac = createHmac(algorithm, key);
  for (const part of parts) mac.update(part);
  return mac;
};
const stripe = new Stripe('sk_test_unused');
const whsec = `whsec_${Buffer.from('standard webhooks key material!!').toString('base64')}`;
const otherWhsec = `whsec_${Buffer.from('some other key material entirely').toString('base64')}`;
// Constructing the client installs the SDK's crypto provider, which its verifier needs.
const paddle = new Paddle('pdl_unused_test_key').webhooks;

const providers: Provider[] = [
  {
    type: 'github',
    secret: 'gh-secret',
    wrongSecret: 'gh-wrong',
    sign: async (body, secret) => ({ 'x-hub-signature-256': await githubSign(secret, body.toString('utf8')), 'x-github-delivery': 'gh-delivery-1' }),
    signatureHeader: 'x-hub-signature-256',
    deliveryId: 'gh-delivery-1',
    event: { body: '{"action":"opened"}', headers: { 'x-github-event': 'pull_request' }, eventType: 'pull_request', eventId: 'gh-delivery-1' },
    hasTimestamp: false,
    bytesSafe: false,
  },
  {
    type: 'stripe',
    secret: 'whsec_stripe_test',
    wrongSecret: 'whsec_stripe_wrong',
    sign: (body, secret, t) => ({ 'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload: body.toString('utf8'), secret, timestamp: t }) }),
    signatureHeader: 'stripe-signature',
    event: {
      body: '{"id":"evt_1NG8Du2eZvKYlo2C","object":"event","type":"payment_intent.succeeded"}',
      eventType: 'payment_intent.succeeded',
      eventId: 'evt_1NG8Du2eZvKYlo2C',
    },
    hasTimestamp: true,
    bytesSafe: false,
    tolerance: 300,
  },
  {
    type: 'slack',
    secret: 'slack-signing-secret',
    wrongSecret: 'slack-wrong',
    sign: (body, secret, t) => ({ 'x-slack-signature': `v0=${hex('sha256', secret, `v0:${t}:`, body).digest('hex')}`, 'x-slack-request-timestamp': String(t) }),
    signatureHeader: 'x-slack-signature',
    event: {
      body: '{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}',
      eventType: 'app_mention',
      eventId: 'Ev08MFMKH6',
    },
    hasTimestamp: true,
    bytesSafe: true,
    tolerance: 300,
  },
  {
    type: 'shopify',
    secret: 'shpss_secret',
    wrongSecret: 'shpss_wrong',
    sign: (body, secret) => ({ 'x-shopify-hmac-sha256': hex('sha256', secret, body).digest('base64'), 'x-shopify-webhook-id': 'shop-1' }),
    signatureHeader: 'x-shopify-hmac-sha256',
    deliveryId: 'shop-1',
    event: { body: '{"id":820982911946154500}', headers: { 'x-shopify-topic': 'orders/create' }, eventType: 'orders/create', eventId: 'shop-1' },
    hasTimestamp: false,
    bytesSafe: true,
  },
  {
    type: 'standard-webhooks',
    secret: whsec,
    wrongSecret: otherWhsec,
    sign: (body, secret, t) => ({
      'webhook-id': 'msg_standard_1',
      'webhook-timestamp': String(t),
      'webhook-signature': new StandardWebhook(secret).sign('msg_standard_1', new Date(t * 1000), body),
    }),
    signatureHeader: 'webhook-signature',
    deliveryId: 'msg_standard_1',
    event: { body: '{"type":"contact.created","timestamp":"2022-11-03T20:26:10.344522Z","data":{}}', eventType: 'contact.created', eventId: 'msg_standard_1' },
    hasTimestamp: true,
    bytesSafe: false,
    tolerance: 300,
  },
  {
    type: 'svix',
    secret: whsec,
    wrongSecret: otherWhsec,
    sign: (body, secret, t) => ({
      'svix-id': 'msg_svix_1',
      'svix-timestamp': String(t),
      'svix-signature': new SvixWebhook(secret).sign('msg_svix_1', new Date(t * 1000), body),
    }),
    signatureHeader: 'svix-signature',
    deliveryId: 'msg_svix_1',
    event: { body: '{"type":"invoice.paid","data":{}}', eventType: 'invoice.paid', eventId: 'msg_svix_1' },
    hasTimestamp: true,
    bytesSafe: false,
    tolerance: 300,
  },
  ...(['klev-message', 'klev-key', 'klev-value'] as const).map((type) => ({
    type,
    secret: 'ewhsec_klevtestsecret',
    wrongSecret: 'ewhsec_klevwrongsecret',
    sign: (body: Buffer, secret: string, t: number) => ({ 'x-klev-signature': `t=${t};v1=${hex('sha256', secret, `${t}.`, body).digest('hex')}` }),
    signatureHeader: 'x-klev-signature',
    hasTimestamp: true,
    bytesSafe: true,
    tolerance: 300,
  })),
  {
    type: 'paddle',
    secret: 'pdl_ntfset_secret',
    wrongSecret: 'pdl_ntfset_wrong',
    sign: async (body, secret, t) => {
      const signature = `ts=${t};h1=${hex('sha256', secret, `${t}:`, body).digest('hex')}`;
      // Paddle's SDK checks freshness against the real clock, so only check fresh signatures with it.
      if (Math.abs(t - Date.now() / 1000) < 5) expect(await paddle.isSignatureValid(body.toString('utf8'), secret, signature)).toBe(true);
      return { 'paddle-signature': signature };
    },
    signatureHeader: 'paddle-signature',
    event: {
      body: '{"event_id":"evt_01h8441jn5pcwrfhwh78jqt8hk","event_type":"transaction.completed","notification_id":"ntf_01h8441jx8x5e0crnyv5nf2ckh","data":{}}',
      eventType: 'transaction.completed',
      eventId: 'evt_01h8441jn5pcwrfhwh78jqt8hk',
    },
    hasTimestamp: true,
    bytesSafe: false,
    tolerance: 5,
  },
  {
    type: 'linear',
    secret: 'lin_wh_secret',
    wrongSecret: 'lin_wh_wrong',
    // Linear-Timestamp is in milliseconds.
    sign: (body, secret, t) => ({
      'linear-signature': hex('sha256', secret, body).digest('hex'),
      'linear-delivery': 'lin-1',
      'linear-timestamp': String(t * 1000),
    }),
    signatureHeader: 'linear-signature',
    deliveryId: 'lin-1',
    event: { body: '{"action":"create","type":"Issue","data":{}}', eventType: 'Issue', eventId: 'lin-1' },
    hasTimestamp: true,
    bytesSafe: true,
    tolerance: 60,
  },
  {
    type: 'hmac',
    secret: 'generic-secret',
    wrongSecret: 'generic-wrong',
    options: { header: 'X-Signature', algorithm: 'sha512', encoding: 'base64', prefix: 'sha512=' },
    sign: (body, secret) => ({ 'x-signature': `sha512=${hex('sha512', secret, body).digest('base64')}` }),
    signatureHeader: 'x-signature',
    hasTimestamp: false,
    bytesSafe: true,
  },
  {
    type: 'secret-header',
    secret: 'telegram-secret-token',
    wrongSecret: 'telegram-wrong-token',
    options: { header: 'X-Telegram-Bot-Api-Secret-Token' },
    sign: (_body, secret) => ({ 'x-telegram-bot-api-secret-token': secret }),
    signatureHeader: 'x-telegram-bot-api-secret-token',
    secretInHeader: true,
    hasTimestamp: false,
    bytesSafe: true,
  },
];

describe.each(providers)('ingress verifier: $type', (provider) => {
  let s: TestServer;
  let log: string;
  let webhook: string;
  const now = () => Math.floor(Date.now() / 1000);
  const post = async (body: Buffer, headers: Headers) => {
    const res = await fetch(`${s.url}/ingress/${webhook}`, {
      method: 'POST',
      body: new Blob([new Uint8Array(body)]),
      headers: { 'content-type': 'application/json', ...headers },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const stored = async () =>
    (await s.request('GET', `/messages/${log}`, { query: { offset: -2, len: 100, encoding: 'base64', headers: 'true' } })).body.messages;

  beforeAll(async () => {
    s = await startTestServer();
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    const created = await s.request('POST', '/ingress_webhooks', {
      body: { log_id: log, type: provider.type, secret: provider.secret, deduplicate: false, ...provider.options },
    });
    expect(created.status).toBe(200);
    webhook = created.body.webhook_id;
  });
  afterAll(async () => {
    await s.close();
  });

  it('appends a valid request byte for byte, with its headers (never a secret) and delivery id', async () => {
    const body = Buffer.from('{"text":"h\u00e9llo \u{1f600}",\n  "spaces":  "  kept  "}\n');
    const res = await post(body, await provider.sign(body, provider.secret, now()));
    expect(res).toEqual({ status: 200, body: { status: 'accepted' } });
    const [message] = (await stored()).slice(-1);
    expect(Buffer.from(message.value, 'base64')).toEqual(body);
    expect(message.key === undefined ? undefined : Buffer.from(message.key, 'base64').toString()).toBe(provider.deliveryId);
    expect(message.headers[provider.signatureHeader]).toEqual(provider.secretInHeader ? undefined : expect.any(String));
    expect(message.headers['content-type']).toBe('application/json');
  });

  it("keeps the provider's event name as event_type and its delivery id as event_id, or no attributes when it names none", async () => {
    const body = Buffer.from(provider.event?.body ?? '{"amount":100}');
    const res = await post(body, { ...(await provider.sign(body, provider.secret, now())), ...provider.event?.headers });
    expect(res.status).toBe(200);
    const [message] = (await stored()).slice(-1);
    if (provider.event) {
      expect(message).toMatchObject({ event_type: provider.event.eventType, event_id: provider.event.eventId });
    } else {
      expect(message).not.toHaveProperty('event_type');
      expect(message).not.toHaveProperty('event_id');
    }
    expect(message).not.toHaveProperty('channels');
  });

  it.runIf(provider.bytesSafe)('stores binary bodies exactly', async () => {
    const body = Buffer.from([0, 255, 254, 10, 13, 32, 0xc3, 0x28, 1]);
    expect((await post(body, await provider.sign(body, provider.secret, now()))).status).toBe(200);
    const [message] = (await stored()).slice(-1);
    expect(Buffer.from(message.value, 'base64')).toEqual(body);
  });

  const refused = async (body: Buffer, headers: Headers, reason: string) => {
    const before = (await stored()).length;
    const res = await post(body, headers);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'ERR_KLEV_API_0119', details: expect.any(String) });
    expect((await stored()).length).toBe(before);
    // Counters are written after the answer, without delaying it.
    await eventually(async () => {
      const metrics = (await s.request('GET', `/ingress_webhook/${webhook}/metrics`)).body;
      expect(metrics.rejected[reason]).toBeGreaterThan(0);
    });
  };

  it('refuses a tampered body', async () => {
    const body = Buffer.from('{"amount":100}');
    const headers = await provider.sign(body, provider.secret, now());
    if (provider.type === 'secret-header') return refused(body, { ...headers, [provider.signatureHeader]: `${provider.secret}x` }, 'bad_signature');
    await refused(Buffer.from('{"amount":999}'), headers, 'bad_signature');
  });

  it('refuses a signature made with the wrong secret', async () => {
    const body = Buffer.from('{"amount":100}');
    await refused(body, await provider.sign(body, provider.wrongSecret, now()), 'bad_signature');
  });

  it('refuses a request without the signature header', async () => {
    const body = Buffer.from('{"amount":100}');
    const { [provider.signatureHeader]: _removed, ...rest } = await provider.sign(body, provider.secret, now());
    await refused(body, rest, 'missing_signature');
  });

  it.runIf(provider.hasTimestamp)('refuses a stale timestamp, and accepts one just inside the tolerance', async () => {
    const body = Buffer.from('{"amount":100}');
    const tolerance = provider.tolerance!;
    await refused(body, await provider.sign(body, provider.secret, now() - tolerance - 60), 'stale_timestamp');
    const inside = provider.type === 'paddle' ? now() - 2 : now() - tolerance + 30;
    expect((await post(body, await provider.sign(body, provider.secret, inside))).status).toBe(200);
  });
});

describe('ingress event names that are no valid event type or id', () => {
  let s: TestServer;
  let log: string;
  let webhook: string;
  beforeAll(async () => {
    s = await startTestServer();
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    webhook = (await s.request('POST', '/ingress_webhooks', { body: { log_id: log, type: 'github', secret: 'gh-secret' } })).body.webhook_id;
  });
  afterAll(async () => {
    await s.close();
  });

  it.each([
    ['an event name with a space and a delivery id with a slash', 'bad event!', 'gh/1', {}],
    ['an event name over 256 characters', 'e'.repeat(257), 'gh-2', { event_id: 'gh-2' }],
    ['an empty event name', '', 'gh-3', { event_id: 'gh-3' }],
  ])('accepts %s, leaving out what does not fit', async (_what, event, delivery, kept) => {
    const body = '{"action":"opened"}';
    const res = await fetch(`${s.url}/ingress/${webhook}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': await githubSign('gh-secret', body),
        'x-github-event': event,
        'x-github-delivery': delivery,
      },
    });
    expect(res.status).toBe(200);
    const [message] = (await s.request('GET', `/messages/${log}`, { query: { offset: -2, len: 100 } })).body.messages.slice(-1);
    expect(message).toEqual({ offset: expect.any(Number), time: expect.any(Number), key: delivery, value: body, ...kept });
  });
});
