import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { egressSetUp, egressTearDown } from './helpers/egress.js';
import type { Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('egress webhooks API', () => {
  let s: TestServer;
  let receiver: Receiver;
  let log: string;
  const create = (body: Record<string, unknown>) => s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url, ...body } });

  beforeEach(async () => {
    ({ s, receiver, log } = await egressSetUp());
  });
  afterEach(() => egressTearDown({ s, receiver }));

  it('creates a webhook with the documented shape and a secret shown once', async () => {
    const res = await create({ metadata: 'notify' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      webhook_id: expect.stringMatching(/^ewh_[0-9A-Za-z]{27}$/),
      metadata: 'notify',
      log_id: log,
      destination: receiver.url,
      payload: 'message',
      // hooklog's extensions, with their defaults.
      mode: 'ordered',
      signing: 'klev',
      headers: {},
      filter_event_types: [],
      filter_channels: [],
      secret: expect.stringMatching(/^ewhsec_[0-9A-Za-z]{33}$/),
    });
    const { secret, ...shown } = res.body;
    expect((await s.request('GET', `/egress_webhook/${res.body.webhook_id}`)).body).toEqual(shown);
    const listed = await s.request('GET', '/egress_webhooks');
    expect(listed.body).toEqual({ items: [shown] });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
  });

  it('lists by metadata and accepts each payload type', async () => {
    const key = (await create({ metadata: 'k', payload: 'key' })).body;
    await create({ metadata: 'v', payload: 'value' });
    const listed = await s.request('GET', '/egress_webhooks', { query: { metadata: 'k' } });
    expect(listed.body.items.map((w: { webhook_id: string; payload: string }) => [w.webhook_id, w.payload])).toEqual([[key.webhook_id, 'key']]);
  });

  it('starts at the end of the log', async () => {
    await s.request('POST', `/messages/${log}`, { body: { messages: [{ value: 'before' }, { value: 'before' }] } });
    const webhook = (await create({})).body;
    const status = await s.request('GET', `/egress_webhook/${webhook.webhook_id}/status`);
    expect(status.body).toEqual({ webhook_id: webhook.webhook_id, active: true, available_offset: 1, next_offset: 2, next_deliver_time: expect.any(Number) });
  });

  it('rotates the secret and returns the new one', async () => {
    const webhook = (await create({})).body;
    const rotated = await s.request('PATCH', `/egress_webhook/${webhook.webhook_id}/secret`, { body: { expire_seconds: 600 } });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^ewhsec_[0-9A-Za-z]{33}$/);
    expect(rotated.body.secret).not.toBe(webhook.secret);
    expect(rotated.body).toMatchObject({ webhook_id: webhook.webhook_id, log_id: log, destination: receiver.url, payload: 'message' });
  });

  it('bounds rotation, so that the signature header cannot grow without end: a week of overlap, ten valid secrets', async () => {
    const { webhook_id: id } = (await create({})).body;
    const rotate = (expire_seconds: number) => s.request('PATCH', `/egress_webhook/${id}/secret`, { body: { expire_seconds } });
    expect((await rotate(7 * 24 * 3600 + 1)).body).toMatchObject({ error: 'ERR_KLEV_API_0102', details: expect.stringContaining('a week') });
    const valid = async () => (await s.server.store.egress.secrets(id, Date.now())).map((one) => one.secret);
    const secrets: string[] = [];
    for (let i = 0; i < 12; i++) {
      const rotated = await rotate(3600);
      expect(rotated.status).toBe(200);
      secrets.push(rotated.body.secret);
    }
    // Ten sign at once: the current one and the nine rotated out last; the oldest ended first.
    expect(await valid()).toEqual(secrets.slice(-10).reverse());
    // Ending the old ones at once is always possible.
    const last = (await rotate(0)).body.secret;
    expect(await valid()).toEqual([last]);
  });

  it('updates metadata and destination', async () => {
    const webhook = (await create({})).body;
    const updated = await s.request('PATCH', `/egress_webhook/${webhook.webhook_id}`, {
      body: { metadata: 'renamed', destination: 'http://127.0.0.1:1/other' },
    });
    expect(updated.body).toMatchObject({ metadata: 'renamed', destination: 'http://127.0.0.1:1/other' });
    const viaPost = await s.request('POST', `/egress_webhook/${webhook.webhook_id}`, { body: { metadata: 'again' } });
    expect(viaPost.body).toMatchObject({ metadata: 'again', destination: 'http://127.0.0.1:1/other' });
  });

  it('deletes a webhook, and deleting its log deletes it too', async () => {
    const one = (await create({})).body;
    const deleted = await s.request('DELETE', `/egress_webhook/${one.webhook_id}`);
    expect(deleted.body.webhook_id).toBe(one.webhook_id);
    expect((await s.request('GET', `/egress_webhook/${one.webhook_id}`)).body.error).toBe('ERR_KLEV_API_0116');
    const two = (await create({})).body;
    await s.request('DELETE', `/log/${log}`);
    expect((await s.request('GET', `/egress_webhook/${two.webhook_id}`)).status).toBe(404);
  });

  it('refuses bad input without creating anything', async () => {
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ destination: 'not a url' }, 400, '0117'],
      [{ destination: 'ftp://example.com/x' }, 400, '0117'],
      [{ destination: 'https://user:pass@example.com/x' }, 400, '0117'],
      [{ destination: undefined }, 400, '0102'],
      [{ destination: 5 }, 400, '0102'],
      [{ payload: 'everything' }, 400, '0102'],
      [{ log_id: 'log_bad' }, 400, '0106'],
      [{ log_id: `log_${'0'.repeat(27)}` }, 404, '0107'],
    ];
    for (const [body, status, code] of cases) {
      const res = await create(body);
      expect([res.status, res.body.error], JSON.stringify(body)).toEqual([status, `ERR_KLEV_API_${code}`]);
    }
    expect((await s.request('GET', '/egress_webhooks')).body.items).toEqual([]);
    const webhook = (await create({})).body;
    expect((await s.request('PATCH', `/egress_webhook/${webhook.webhook_id}`, { body: { active: false } })).status).toBe(400);
    expect((await s.request('PATCH', `/egress_webhook/${webhook.webhook_id}/secret`, { body: { expire_seconds: -1 } })).status).toBe(400);
    expect((await s.request('GET', `/egress_webhook/ewh_${'0'.repeat(27)}/status`)).status).toBe(404);
  });

  it('refuses private and reserved destinations unless allowed, on create and on update, storing nothing', async () => {
    const strict = await startTestServer();
    onTestFinished(() => strict.close());
    const strictLog = (await strict.request('POST', '/logs', { body: {} })).body.log_id;
    const refused = [
      'http://127.0.0.1:9000/',
      'http://10.1.2.3/',
      'http://[::1]:80/',
      'http://169.254.169.254/latest',
      'http://localhost:9000/',
      // IPv6 forms that embed a private IPv4 address: IPv4-compatible, NAT64, 6to4, IPv4-mapped.
      'http://[::7f00:1]:9/',
      'http://[64:ff9b::a00:1]/',
      'http://[2002:7f00:1::1]/',
      'http://[0:0:0:0:0:ffff:127.0.0.1]/',
      // Documentation ranges.
      'http://192.0.2.10/',
      'http://[2001:db8::1]/',
    ];
    for (const destination of refused) {
      const res = await strict.request('POST', '/egress_webhooks', { body: { log_id: strictLog, destination } });
      expect([res.status, res.body.error], destination).toEqual([400, 'ERR_KLEV_API_0117']);
    }
    expect((await strict.request('GET', '/egress_webhooks')).body.items).toEqual([]);
    const created = await strict.request('POST', '/egress_webhooks', { body: { log_id: strictLog, destination: 'https://example.com/hook' } });
    expect(created.status).toBe(200);
    for (const destination of refused) {
      const res = await strict.request('PATCH', `/egress_webhook/${created.body.webhook_id}`, { body: { destination } });
      expect([res.status, res.body.error], destination).toEqual([400, 'ERR_KLEV_API_0117']);
    }
    expect((await strict.request('GET', `/egress_webhook/${created.body.webhook_id}`)).body.destination).toBe('https://example.com/hook');
  });

  it('applies the egress_webhooks ACL, with rotate and status actions', async () => {
    const webhook = (await create({})).body;
    const token = (await s.request('POST', '/tokens', { body: { acl: [`egress_webhooks:status:${webhook.webhook_id}`, 'egress_webhooks:list'] } })).body.bearer;
    expect((await s.request('GET', `/egress_webhook/${webhook.webhook_id}/status`, { token })).status).toBe(200);
    expect((await s.request('GET', '/egress_webhooks', { token })).status).toBe(200);
    expect((await s.request('PATCH', `/egress_webhook/${webhook.webhook_id}/secret`, { token, body: {} })).status).toBe(403);
    expect((await s.request('GET', `/egress_webhook/${webhook.webhook_id}`, { token })).status).toBe(403);
    const rotator = (await s.request('POST', '/tokens', { body: { acl: ['egress_webhooks:rotate'] } })).body.bearer;
    expect((await s.request('PATCH', `/egress_webhook/${webhook.webhook_id}/secret`, { token: rotator, body: {} })).status).toBe(200);
  });
});
