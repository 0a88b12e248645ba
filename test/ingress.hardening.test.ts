import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HooklogError } from '../src/domain/errors.js';
import { newId } from '../src/domain/ids.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

/**
 * What the public ingress URL must withstand: credentials a sender puts in
 * headers, names that exist on Object.prototype, malformed ids and
 * signatures, and counters that have to add up whatever happens.
 */
type Headers = Record<string, string>;

describe('ingress hardening', () => {
  let s: TestServer;
  let log: string;
  const create = async (body: Record<string, unknown>) => s.request('POST', '/ingress_webhooks', { body: { log_id: log, ...body } });
  const webhook = async (body: Record<string, unknown>): Promise<string> => {
    const created = await create(body);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    return created.body.webhook_id;
  };
  // node:http rather than fetch, so that any header (Cookie, Proxy-Authorization, `constructor`) is sent as given.
  const post = (id: string, body: string, headers: Headers) =>
    new Promise<{ status: number; body: any }>((resolve, reject) => {
      const req = httpRequest(`${s.url}/ingress/${id}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode!, body: text.startsWith('{') ? JSON.parse(text) : text });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  const webhooksOfLog = async () => (await s.request('GET', '/ingress_webhooks')).body.items.filter((w: { log_id: string }) => w.log_id === log);
  const messages = async () => (await s.request('GET', `/messages/${log}`, { query: { offset: -2, len: 100, headers: 'true' } })).body.messages;
  const metrics = async (id: string) => (await s.request('GET', `/ingress_webhook/${id}/metrics`)).body;
  const hex = (secret: string | Buffer, ...parts: string[]) => parts.reduce((mac, part) => mac.update(part), createHmac('sha256', secret)).digest('hex');
  const base64 = (secret: string, body: string) => createHmac('sha256', secret).update(body).digest('base64');
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    s = await startTestServer();
  });
  beforeEach(async () => {
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
  });
  afterAll(async () => {
    await s.close();
  });

  it('refuses only a Content-Type that names no media type, saying so, and takes any other type', async () => {
    const id = await webhook({ type: 'none' });
    const refused = await post(id, 'x', { 'content-type': 'garbage' });
    expect(refused.status).toBe(415);
    expect(refused.body).toMatchObject({ error: 'ERR_KLEV_API_0001', details: 'the Content-Type header "garbage" is not a media type' });
    expect((await post(id, '<a/>', { 'content-type': 'application/xml' })).status).toBe(200);
    // The JSON API, by contrast, says what it takes.
    const api = await s.request('POST', '/logs', { rawBody: '<a/>', contentType: 'application/xml' });
    expect(api.body).toMatchObject({ error: 'ERR_KLEV_API_0001', details: 'send the body as application/json, not "application/xml"' });
  });

  describe('stored headers', () => {
    const credentials = { authorization: 'Bearer sender-credential', cookie: 'session=sender-cookie', 'proxy-authorization': 'Basic cHJveHk6c2VjcmV0' };

    it("never stores a secret-header webhook's secret, nor Authorization, Proxy-Authorization or Cookie", async () => {
      const id = await webhook({ type: 'secret-header', secret: 'telegram-token', header: 'X-Telegram-Bot-Api-Secret-Token' });
      const res = await post(id, '{}', { 'x-telegram-bot-api-secret-token': 'telegram-token', 'x-event': 'push', ...credentials });
      expect(res.status).toBe(200);
      const [message] = await messages();
      expect(message.headers).toMatchObject({ 'x-event': 'push', 'content-type': 'application/json' });
      for (const name of ['x-telegram-bot-api-secret-token', 'authorization', 'cookie', 'proxy-authorization'])
        expect(message.headers).not.toHaveProperty(name);
      expect(JSON.stringify(message.headers)).not.toMatch(/telegram-token|sender-credential|sender-cookie|cHJveHk6c2VjcmV0/);
    });

    it('drops the credentials for every type, but keeps a signature, which is no secret', async () => {
      const id = await webhook({ type: 'hmac', secret: 'generic', header: 'X-Signature' });
      expect((await post(id, '{"a":1}', { 'x-signature': hex('generic', '{"a":1}'), ...credentials })).status).toBe(200);
      const [message] = await messages();
      expect(message.headers['x-signature']).toBe(hex('generic', '{"a":1}'));
      for (const name of Object.keys(credentials)) expect(message.headers).not.toHaveProperty(name);
    });
  });

  describe('names that exist on Object.prototype', () => {
    const PROTOTYPE_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

    it('refuses them as types at create, creating nothing', async () => {
      for (const type of PROTOTYPE_NAMES) {
        const res = await create({ type, secret: 's' });
        expect([res.status, res.body.error], type).toEqual([400, 'ERR_KLEV_API_0102']);
      }
      expect(await webhooksOfLog()).toEqual([]);
    });

    it('answers 404, not 500, at the URL of a webhook stored with such a type before types were checked strictly', async () => {
      const id = newId('iwh');
      const settings = { header: '', algorithm: 'sha256', encoding: 'hex', prefix: '', deduplicate: true, keepRejected: true } as const;
      await s.server.store.ingress.create({ id, logId: log, metadata: 'legacy', type: 'constructor', secret: 's', ...settings });
      expect((await post(id, '{}', {})).body.error).toBe('ERR_KLEV_API_0118');
      const update = await s.request('PATCH', `/ingress_webhook/${id}`, { body: { metadata: 'renamed' } });
      expect([update.status, update.body.error]).toEqual([400, 'ERR_KLEV_API_0102']);
      expect((await s.request('DELETE', `/ingress_webhook/${id}`)).body).toMatchObject({ webhook_id: id, type: 'constructor', metadata: 'legacy' });
      expect(await messages()).toEqual([]);
    });

    it('looks a configured header up as a header, never as an inherited property', async () => {
      for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        const hmac = await webhook({ type: 'hmac', secret: 's', header: name });
        expect((await post(hmac, '{}', {})).body, name).toMatchObject({ error: 'ERR_KLEV_API_0119', details: `missing ${name} header` });
        const secretHeader = await webhook({ type: 'secret-header', secret: 's', header: name });
        expect((await post(secretHeader, '{}', {})).body, name).toMatchObject({ error: 'ERR_KLEV_API_0119', details: `missing ${name} header` });
      }
      // A header that really has such a name is read like any other.
      const id = await webhook({ type: 'secret-header', secret: 'the-secret', header: 'Constructor' });
      expect((await post(id, '{}', { constructor: 'the-secret' })).status).toBe(200);
      expect((await post(id, '{}', { constructor: 'wrong' })).status).toBe(401);
      expect(await messages()).toHaveLength(1);
    });

    it('refuses a configured header that is not an HTTP header name, on create and on update', async () => {
      for (const header of ['X Sig', 'X-Sig:', 'X-Sig\u00e9', '(x)', 'a/b', ' X-Sig']) {
        for (const type of ['hmac', 'secret-header']) {
          const res = await create({ type, secret: 's', header });
          expect([res.status, res.body.error], `${type} ${JSON.stringify(header)}`).toEqual([400, 'ERR_KLEV_API_0102']);
        }
      }
      expect(await webhooksOfLog()).toEqual([]);
      const id = await webhook({ type: 'hmac', secret: 's', header: "X-Sig_1.!#$%&'*+^`|~" });
      const update = await s.request('PATCH', `/ingress_webhook/${id}`, { body: { header: 'X Sig' } });
      expect([update.status, update.body.error]).toEqual([400, 'ERR_KLEV_API_0102']);
      expect((await s.request('GET', `/ingress_webhook/${id}`)).body.header).toBe("X-Sig_1.!#$%&'*+^`|~");
    });
  });

  describe('the public URL', () => {
    it('answers 404 for an id that is not an ingress webhook id, without asking the store', async () => {
      for (const id of [
        '%00',
        `iwh_${'0'.repeat(26)}%00`,
        'iwh_%00',
        `iwh_${'0'.repeat(27)}%00`,
        `iwh_${encodeURIComponent('\u00e9'.repeat(27))}`,
        `ewh_${'0'.repeat(27)}`,
        `iwh_${'0'.repeat(60)}`,
      ]) {
        const res = await post(id, '{}', {});
        expect([res.status, res.body.error], id).toEqual([404, 'ERR_KLEV_API_0118']);
      }
    });
  });

  describe('signatures are parsed strictly', () => {
    it('refuses hex with anything after it, and still takes upper-case hex', async () => {
      const id = await webhook({ type: 'github', secret: 'gh' });
      const body = '{"n":1}';
      const good = hex('gh', body);
      for (const signature of [`${good}zz`, `${good}0`, `${good.slice(0, -1)}z`, `g${good.slice(1)}`]) {
        const res = await post(id, body, { 'x-hub-signature-256': `sha256=${signature}`, 'x-github-delivery': signature });
        expect([res.status, res.body.details], JSON.stringify(signature)).toEqual([401, 'X-Hub-Signature-256 does not match the body']);
      }
      expect(await messages()).toEqual([]);
      expect((await post(id, body, { 'x-hub-signature-256': `sha256=${good.toUpperCase()}`, 'x-github-delivery': 'upper' })).status).toBe(200);
    });

    it('refuses base64 that is not strict standard base64', async () => {
      const id = await webhook({ type: 'shopify', secret: 'shop' });
      const body = '{"n":1}';
      const good = base64('shop', body);
      for (const signature of [
        `${good.slice(0, 10)}*${good.slice(10)}`,
        `${good}AAAA`,
        good.replace(/=+$/, ''),
        `${good}=`,
        good.replaceAll('+', '-').replaceAll('/', '_'),
      ]) {
        if (signature === good) continue;
        const res = await post(id, body, { 'x-shopify-hmac-sha256': signature });
        expect(res.status, signature).toBe(401);
      }
      expect(await messages()).toEqual([]);
      expect((await post(id, body, { 'x-shopify-hmac-sha256': good })).status).toBe(200);
    });

    it('refuses a standard-webhooks v1 signature with a stray character', async () => {
      const secret = `whsec_${Buffer.from('standard webhooks key material!!').toString('base64')}`;
      const id = await webhook({ type: 'standard-webhooks', secret });
      const body = '{"n":1}';
      const t = now();
      const signature = new StandardWebhook(secret).sign('msg_1', new Date(t * 1000), body);
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(t) };
      const stray = `${signature.slice(0, 12)}!${signature.slice(12)}`;
      expect((await post(id, body, { ...headers, 'webhook-signature': stray })).status).toBe(401);
      expect((await post(id, body, { ...headers, 'webhook-signature': signature })).status).toBe(200);
    });

    it('refuses an X-Klev-Signature whose v1 has anything after its hex', async () => {
      const id = await webhook({ type: 'klev-message', secret: 'ewhsec_klev' });
      const body = '{"n":1}';
      const t = now();
      const good = hex('ewhsec_klev', `${t}.`, body);
      for (const v1 of [`${good}zz`, `${good}0`, `${good}-`]) {
        const res = await post(id, body, { 'x-klev-signature': `t=${t};v1=${v1}` });
        expect([res.status, res.body.error], v1).toEqual([401, 'ERR_KLEV_API_0119']);
      }
      expect(await messages()).toEqual([]);
      expect((await post(id, body, { 'x-klev-signature': `t=${t};v1=${good}` })).status).toBe(200);
    });
  });

  describe('Linear timestamps, as @linear/sdk checks them', () => {
    const secret = 'lin_wh_secret';
    const signed = (body: string, headers: Headers = {}) => ({ 'linear-signature': hex(secret, body), 'linear-delivery': 'lin-1', ...headers });
    const refusedAs = async (id: string, body: string, headers: Headers, details: RegExp) => {
      const res = await post(id, body, headers);
      expect([res.status, res.body.error]).toEqual([401, 'ERR_KLEV_API_0119']);
      expect(res.body.details).toMatch(details);
    };

    it('takes the Linear-Timestamp header (ms) or the signed body field, refusing any more than 60 s away', async () => {
      const id = await webhook({ type: 'linear', secret, deduplicate: false });
      const body = '{"action":"create"}';
      await refusedAs(id, body, signed(body, { 'linear-timestamp': String(Date.now() - 10 * 60_000) }), /60 s/);
      await refusedAs(id, body, signed(body, { 'linear-timestamp': String(Date.now() + 90_000) }), /60 s/);
      expect((await post(id, body, signed(body, { 'linear-timestamp': String(Date.now() - 30_000) }))).status).toBe(200);
      // Every timestamp present must be fresh: a stale header with a fresh body field…
      const fresh = JSON.stringify({ action: 'create', webhookTimestamp: Date.now() });
      await refusedAs(id, fresh, signed(fresh, { 'linear-timestamp': String(Date.now() - 10 * 60_000) }), /60 s/);
      // …and an old signed body sent again with a fresh, unsigned header (a replay).
      const old = JSON.stringify({ action: 'create', webhookTimestamp: Date.now() - 30 * 24 * 3600_000 });
      await refusedAs(id, old, signed(old, { 'linear-timestamp': String(Date.now()) }), /60 s/);
      await eventually(async () => expect((await metrics(id)).rejected).toEqual({ stale_timestamp: 4 }));
    });

    it("falls back on the body's webhookTimestamp", async () => {
      const id = await webhook({ type: 'linear', secret, deduplicate: false });
      const old = JSON.stringify({ action: 'create', webhookTimestamp: Date.now() - 10 * 60_000 });
      await refusedAs(id, old, signed(old), /60 s/);
      const fresh = JSON.stringify({ action: 'create', webhookTimestamp: Date.now() - 5_000 });
      expect((await post(id, fresh, signed(fresh))).status).toBe(200);
      expect((await messages()).map((m: { value: string }) => m.value)).toEqual([fresh]);
    });

    it('refuses a request with no timestamp, or one that is not a number, as malformed', async () => {
      const id = await webhook({ type: 'linear', secret, deduplicate: false });
      for (const body of ['{"action":"create"}', '{"webhookTimestamp":"1700000000000"}', '{"webhookTimestamp":null}', 'not json', '[1]']) {
        await refusedAs(id, body, signed(body), /timestamp/i);
      }
      await refusedAs(id, '{}', signed('{}', { 'linear-timestamp': 'yesterday' }), /timestamp/i);
      expect(await messages()).toEqual([]);
      await eventually(async () => expect((await metrics(id)).rejected).toEqual({ malformed_signature: 6 }));
    });

    it('checks the signature first: a bad signature is bad whatever the timestamp', async () => {
      const id = await webhook({ type: 'linear', secret });
      await refusedAs(id, '{}', { 'linear-signature': hex('wrong', '{}') }, /does not match/);
    });
  });

  describe('whsec_ is optional, as in the standardwebhooks and svix libraries', () => {
    const bare = Buffer.from('a bare base64 secret, no prefix!').toString('base64');
    const otherBare = Buffer.from('another bare base64 secret here!').toString('base64');
    const body = '{"n":1}';

    it('creates, updates and verifies with a bare base64 secret', async () => {
      for (const [type, prefix, Signer] of [
        ['standard-webhooks', 'webhook', StandardWebhook],
        ['svix', 'svix', SvixWebhook],
      ] as const) {
        const id = await webhook({ type, secret: bare });
        const send = (secret: string, msgId: string) => {
          const t = now();
          const signature = new Signer(secret).sign(msgId, new Date(t * 1000), body);
          return post(id, body, { [`${prefix}-id`]: msgId, [`${prefix}-timestamp`]: String(t), [`${prefix}-signature`]: signature });
        };
        expect((await send(bare, `${type}-1`)).status, type).toBe(200);
        expect((await send(`whsec_${bare}`, `${type}-2`)).status, type).toBe(200);
        expect((await send(otherBare, `${type}-3`)).status, type).toBe(401);
        expect((await s.request('PATCH', `/ingress_webhook/${id}`, { body: { secret: otherBare } })).status).toBe(200);
        expect((await send(otherBare, `${type}-4`)).status, type).toBe(200);
        expect((await send(bare, `${type}-5`)).status, type).toBe(401);
      }
    });

    it('takes a secret without its base64 padding, as the libraries do', async () => {
      expect(bare).toMatch(/[^=]=$/);
      const id = await webhook({ type: 'standard-webhooks', secret: `whsec_${bare.slice(0, -1)}` });
      const t = now();
      const signature = new StandardWebhook(bare.slice(0, -1)).sign('msg_1', new Date(t * 1000), body);
      expect(signature).toBe(new StandardWebhook(bare).sign('msg_1', new Date(t * 1000), body));
      expect((await post(id, body, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(t), 'webhook-signature': signature })).status).toBe(200);
    });

    it('still refuses a secret that is not base64, with or without the prefix, creating nothing', async () => {
      for (const secret of ['whsec_', '', 'not base64!', 'whsec_not-base64', `whsec_${bare.slice(2)}`, `${bare}!`, `${bare}=`, 'whsec_A', 'whsec_A===']) {
        const res = await create({ type: 'standard-webhooks', secret });
        expect([res.status, res.body.error], secret).toEqual([400, 'ERR_KLEV_API_0120']);
      }
      expect(await webhooksOfLog()).toEqual([]);
      const id = await webhook({ type: 'svix', secret: bare });
      const update = await s.request('PATCH', `/ingress_webhook/${id}`, { body: { secret: 'whsec_' } });
      expect([update.status, update.body.error]).toEqual([400, 'ERR_KLEV_API_0120']);
    });
  });

  describe('counters add up', () => {
    // received = accepted + duplicates + handshakes + failed + every rejection
    const addsUp = (m: { received: number; accepted: number; duplicates: number; handshakes: number; failed: number; rejected: Record<string, number> }) =>
      expect(m.received).toBe(m.accepted + m.duplicates + m.handshakes + m.failed + Object.values(m.rejected).reduce((a, b) => a + b, 0));

    it("counts Slack's url_verification as a handshake", async () => {
      const secret = 'slack-secret';
      const id = await webhook({ type: 'slack', secret });
      const slack = (body: string) => {
        const t = String(now());
        return post(id, body, { 'x-slack-signature': `v0=${hex(secret, `v0:${t}:`, body)}`, 'x-slack-request-timestamp': t });
      };
      expect((await slack('{"type":"url_verification","challenge":"c"}')).body).toEqual({ challenge: 'c' });
      expect((await slack('{"type":"event_callback","event_id":"Ev1"}')).body).toEqual({ status: 'accepted' });
      expect((await slack('{"type":"event_callback","event_id":"Ev1"}')).body).toEqual({ status: 'duplicate' });
      expect((await post(id, '{}', {})).status).toBe(401);
      await eventually(async () =>
        expect(await metrics(id)).toEqual({
          webhook_id: id,
          received: 4,
          accepted: 1,
          duplicates: 1,
          handshakes: 1,
          failed: 0,
          rejected: { missing_signature: 1 },
        }),
      );
      addsUp(await metrics(id));
    });

    it('counts an append that fails (database unavailable: 503) as failed', async () => {
      const id = await webhook({ type: 'none' });
      const messagesStore = s.server.store.messages;
      const append = messagesStore.append;
      messagesStore.append = async () => {
        throw new HooklogError('database_unavailable', 'the database cannot be reached (test); retry shortly');
      };
      try {
        const res = await post(id, '{}', {});
        expect([res.status, res.body.error]).toEqual([503, 'ERR_KLEV_API_0121']);
      } finally {
        messagesStore.append = append;
      }
      expect((await post(id, '{}', {})).status).toBe(200);
      await eventually(async () =>
        expect(await metrics(id)).toEqual({ webhook_id: id, received: 2, accepted: 1, duplicates: 0, handshakes: 0, failed: 1, rejected: {} }),
      );
      addsUp(await metrics(id));
    });

    it('shows handshakes and failed as 0 on a new webhook', async () => {
      const id = await webhook({ type: 'none' });
      expect(await metrics(id)).toEqual({ webhook_id: id, received: 0, accepted: 0, duplicates: 0, handshakes: 0, failed: 0, rejected: {} });
    });
  });
});
