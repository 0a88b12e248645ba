import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROVIDERS } from '../src/ingress/providers/registry.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

const githubSignature = (secret: string, body: string | Buffer) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('ingress webhooks API and behaviour', () => {
  let s: TestServer;
  let log: string;
  const create = async (body: Record<string, unknown>) => s.request('POST', '/ingress_webhooks', { body: { log_id: log, ...body } });
  const post = async (id: string, body: string | Buffer, headers: Record<string, string>) => {
    const res = await fetch(`${s.url}/ingress/${id}`, { method: 'POST', body: typeof body === 'string' ? body : new Blob([new Uint8Array(body)]), headers });
    const text = await res.text();
    return { status: res.status, text, body: text.startsWith('{') ? JSON.parse(text) : undefined };
  };
  const messages = async (query: Record<string, string | number> = {}) =>
    (await s.request('GET', `/messages/${log}`, { query: { offset: -2, len: 100, ...query } })).body.messages;
  const github = (id: string, body: string, delivery: string, secret = 'gh') =>
    post(id, body, { 'content-type': 'application/json', 'x-github-delivery': delivery, 'x-hub-signature-256': githubSignature(secret, body) });

  beforeEach(async () => {
    s = await startTestServer({ maxBodyBytes: 2048 });
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
  });
  afterEach(async () => {
    await s.close();
  });

  it("creates, gets, lists, updates and deletes, in klev's shape, never showing the secret", async () => {
    const created = await create({ metadata: 'slack', type: 'slack', secret: '8f742231b10e8888abcd99yyyzzz85a5' });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      webhook_id: expect.stringMatching(/^iwh_[0-9A-Za-z]{27}$/),
      metadata: 'slack',
      log_id: log,
      type: 'slack',
      deduplicate: true,
      keep_rejected: true,
      path: `/ingress/${created.body.webhook_id}`,
    });
    const id = created.body.webhook_id;
    expect((await s.request('GET', `/ingress_webhook/${id}`)).body).toEqual(created.body);
    expect((await s.request('GET', '/ingress_webhooks', { query: { metadata: 'slack' } })).body).toEqual({ items: [created.body] });
    const updated = await s.request('PATCH', `/ingress_webhook/${id}`, { body: { metadata: 'renamed', secret: 'new-secret' } });
    expect(updated.body).toEqual({ ...created.body, metadata: 'renamed' });
    for (const res of [created, updated, await s.request('GET', '/ingress_webhooks')]) {
      expect(JSON.stringify(res.body)).not.toMatch(/8f742231|new-secret/);
    }
    expect((await s.request('DELETE', `/ingress_webhook/${id}`)).body.webhook_id).toBe(id);
    expect((await s.request('GET', `/ingress_webhook/${id}`)).body.error).toBe('ERR_KLEV_API_0118');
  });

  it('shows the generic options, and accepts the gitHub and svix aliases', async () => {
    const hmac = await create({ type: 'hmac', secret: 's', header: 'X-Sig', algorithm: 'sha1', encoding: 'base64', prefix: 'sha1=' });
    expect(hmac.body).toMatchObject({ type: 'hmac', header: 'X-Sig', algorithm: 'sha1', encoding: 'base64', prefix: 'sha1=' });
    expect((await create({ type: 'secret-header', secret: 's', header: 'X-Token' })).body).toMatchObject({ header: 'X-Token' });
    expect((await create({ type: 'gitHub', secret: 's' })).body.type).toBe('gitHub');
    expect((await create({ type: 'svix', secret: `whsec_${Buffer.from('k').toString('base64')}` })).body.type).toBe('svix');
  });

  it('refuses bad settings without creating anything', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ type: 'gitlab', secret: 's' }, 400, '0102'],
      [{ secret: 's' }, 400, '0102'],
      [{ type: 'github' }, 400, '0120'],
      [{ type: 'standard-webhooks', secret: 'not-whsec' }, 400, '0120'],
      [{ type: 'hmac', secret: 's' }, 400, '0102'],
      [{ type: 'hmac', secret: 's', header: 'X', algorithm: 'md5' }, 400, '0102'],
      [{ type: 'hmac', secret: 's', header: 'X', encoding: 'base32' }, 400, '0102'],
      [{ type: 'secret-header', secret: 's' }, 400, '0102'],
      [{ type: 'github', secret: 5 }, 400, '0102'],
      [{ type: 'github', secret: 's', deduplicate: 'no' }, 400, '0102'],
      [{ type: 'github', secret: 's', log_id: `log_${'0'.repeat(27)}` }, 404, '0107'],
    ];
    for (const [body, status, code] of cases) {
      const res = await create(body);
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([status, `ERR_KLEV_API_${code}`]);
    }
    expect((await s.request('GET', '/ingress_webhooks')).body.items).toEqual([]);
    expect((await create({ type: 'none' })).status).toBe(200);
  });

  it('needs no bearer on the public URL, but the API needs the ingress_webhooks ACL', async () => {
    const id = (await create({ type: 'none' })).body.webhook_id;
    expect((await post(id, 'hi', { 'content-type': 'text/plain' })).status).toBe(200);
    const token = (await s.request('POST', '/tokens', { body: { acl: [`ingress_webhooks:get:${id}`] } })).body.bearer;
    expect((await s.request('GET', `/ingress_webhook/${id}`, { token })).status).toBe(200);
    expect((await s.request('GET', `/ingress_webhook/${id}/metrics`, { token })).status).toBe(200);
    expect((await s.request('GET', '/ingress_webhooks', { token })).status).toBe(403);
    expect((await s.request('DELETE', `/ingress_webhook/${id}`, { token })).status).toBe(403);
  });

  it('answers 404 for an unknown webhook and 413 over the body limit, appending nothing', async () => {
    const id = (await create({ type: 'none' })).body.webhook_id;
    expect((await post(`iwh_${'0'.repeat(27)}`, 'x', { 'content-type': 'text/plain' })).body.error).toBe('ERR_KLEV_API_0118');
    expect((await post('whatever', 'x', { 'content-type': 'text/plain' })).status).toBe(404);
    const big = await post(id, 'x'.repeat(3000), { 'content-type': 'text/plain' });
    expect([big.status, big.body.error]).toEqual([413, 'ERR_KLEV_API_0101']);
    expect(await messages()).toEqual([]);
    await eventually(async () => expect((await s.request('GET', `/ingress_webhook/${id}/metrics`)).body.rejected).toEqual({ body_too_large: 1 }));
  });

  it('answers a duplicate delivery id with 200 without appending again, unless switched off', async () => {
    const id = (await create({ type: 'github', secret: 'gh' })).body.webhook_id;
    expect((await github(id, '{"n":1}', 'delivery-1')).body).toEqual({ status: 'accepted' });
    expect((await github(id, '{"n":1}', 'delivery-1')).body).toEqual({ status: 'duplicate' });
    expect((await github(id, '{"n":2}', 'delivery-2')).body).toEqual({ status: 'accepted' });
    // Concurrent copies of one delivery: exactly one lands.
    const copies = await Promise.all(Array.from({ length: 10 }, () => github(id, '{"n":3}', 'delivery-3')));
    expect(copies.filter((c) => c.body.status === 'accepted')).toHaveLength(1);
    expect((await messages()).map((m: { key: string }) => m.key)).toEqual(['delivery-1', 'delivery-2', 'delivery-3']);

    await s.request('PATCH', `/ingress_webhook/${id}`, { body: { deduplicate: false } });
    expect((await github(id, '{"n":1}', 'delivery-1')).body).toEqual({ status: 'accepted' });
    expect(await messages()).toHaveLength(4);
    await eventually(async () =>
      expect((await s.request('GET', `/ingress_webhook/${id}/metrics`)).body).toEqual({
        webhook_id: id,
        received: 14,
        accepted: 4,
        duplicates: 10,
        handshakes: 0,
        failed: 0,
        rejected: {},
      }),
    );
  });

  it('uses an updated secret at once', async () => {
    const id = (await create({ type: 'github', secret: 'old' })).body.webhook_id;
    await s.request('PATCH', `/ingress_webhook/${id}`, { body: { secret: 'new' } });
    expect((await github(id, '{}', 'a', 'old')).status).toBe(401);
    expect((await github(id, '{}', 'b', 'new')).status).toBe(200);
  });

  it('answers Slack url_verification with the challenge and appends nothing', async () => {
    const secret = 'slack-secret';
    const id = (await create({ type: 'slack', secret })).body.webhook_id;
    const body = JSON.stringify({ token: 't', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' });
    const t = Math.floor(Date.now() / 1000);
    const signature = `v0=${createHmac('sha256', secret).update(`v0:${t}:${body}`).digest('hex')}`;
    const res = await post(id, body, { 'content-type': 'application/json', 'x-slack-signature': signature, 'x-slack-request-timestamp': String(t) });
    expect(res).toMatchObject({ status: 200, body: { challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' } });
    expect(await messages()).toEqual([]);
    // An unsigned challenge is refused like anything else.
    expect((await post(id, body, { 'content-type': 'application/json' })).status).toBe(401);
  });

  it('stores request headers without hop-by-hop ones, and shows them only when asked', async () => {
    const id = (await create({ type: 'none' })).body.webhook_id;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${s.url}/ingress/${id}`, {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          connection: 'keep-alive, x-per-hop',
          'x-per-hop': 'drop me',
          'keep-alive': 'timeout=5',
          'x-event': 'push',
          te: 'trailers',
        },
      });
      req.on('response', (res) => res.resume().on('end', resolve));
      req.on('error', reject);
      req.end('body');
    });
    const [withHeaders] = await messages({ headers: 'true' });
    expect(withHeaders.headers).toMatchObject({ 'content-type': 'text/plain', 'x-event': 'push' });
    for (const name of ['connection', 'keep-alive', 'x-per-hop', 'te', 'transfer-encoding']) expect(withHeaders.headers).not.toHaveProperty(name);
    const [plain] = await messages();
    expect(plain).not.toHaveProperty('headers');
    expect(plain.value).toBe('body');
    expect((await s.request('GET', `/messages/${log}`, { query: { headers: 'maybe' } })).status).toBe(400);
  });

  it('takes the time of receipt, and an empty body', async () => {
    const id = (await create({ type: 'none' })).body.webhook_id;
    const before = Date.now() * 1000;
    expect((await fetch(`${s.url}/ingress/${id}`, { method: 'POST' })).status).toBe(200);
    const [message] = await messages();
    expect(message.time).toBeGreaterThanOrEqual(before - 1000);
    expect(message.value).toBe('');
  });

  it('lets one hooklog feed another: an egress webhook signs, a klev-message ingress verifies', async () => {
    const upstream = await startTestServer({ allowPrivateDestinations: true });
    const source = (await upstream.request('POST', '/logs', { body: {} })).body.log_id;
    const secret = 'placeholder';
    const ingress = (await create({ type: 'klev-message', secret })).body.webhook_id;
    const egress = (await upstream.request('POST', '/egress_webhooks', { body: { log_id: source, destination: `${s.url}/ingress/${ingress}` } })).body;
    await s.request('PATCH', `/ingress_webhook/${ingress}`, { body: { secret: egress.secret } });
    await upstream.request('POST', `/message/${source}`, { body: { key: 'k', value: 'from upstream' } });
    await eventually(async () => expect(await messages()).toHaveLength(1));
    const [message] = await messages();
    expect(JSON.parse(message.value)).toEqual({ encoding: 'string', offset: 0, time: expect.any(Number), key: 'k', value: 'from upstream' });
    await upstream.close();
  });

  it('is deleted with its log', async () => {
    const id = (await create({ type: 'none' })).body.webhook_id;
    await s.request('DELETE', `/log/${log}`);
    expect((await s.request('GET', `/ingress_webhook/${id}`)).status).toBe(404);
    expect((await post(id, 'x', { 'content-type': 'text/plain' })).status).toBe(404);
  });

  it('accepts every type the provider registry lists, with the settings it declares', async () => {
    for (const provider of PROVIDERS) {
      const secret = provider.needs.secret ? 'whsec_c2VjcmV0' : undefined;
      const res = await s.request('POST', '/ingress_webhooks', {
        body: { log_id: log, type: provider.type, secret, ...(provider.needs.header && { header: 'x-sig' }) },
      });
      expect(res.status, `${provider.type}: ${JSON.stringify(res.body)}`).toBe(200);
      for (const alias of provider.aliases ?? []) {
        expect((await s.request('POST', '/ingress_webhooks', { body: { log_id: log, type: alias, secret } })).body.type).toBe(alias);
      }
    }
    const unknown = await s.request('POST', '/ingress_webhooks', { body: { log_id: log, type: 'gitlab', secret: 's' } });
    expect(unknown.body.details).toBe(`type must be one of ${PROVIDERS.map((p) => p.type).join(', ')} (or gitHub, svix)`);
  });
});
