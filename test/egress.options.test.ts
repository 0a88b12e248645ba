import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { egressSetUp, egressTearDown, FAST_RETRIES } from './helpers/egress.js';
import type { Received, Receiver } from './helpers/receiver.js';
import { eventually, type TestServer } from './helpers/server.js';
import { snapshotStore } from './helpers/snapshot.js';

/** Verifies a request with the standardwebhooks library, as a receiver would; false when it refuses. */
function standardVerified(received: Received, secret: string): boolean {
  const headers = Object.fromEntries(Object.entries(received.headers).map(([name, value]) => [name, String(value)]));
  try {
    new StandardWebhook(secret).verify(received.body.toString(), headers);
    return true;
  } catch {
    return false;
  }
}

describe('egress destination options', () => {
  let s: TestServer;
  let receiver: Receiver;
  let log: string;
  const publish = (...values: string[]) => s.request('POST', `/messages/${log}`, { body: { messages: values.map((value) => ({ value })) } });
  const create = (body: Record<string, unknown>) => s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url, ...body } });
  const values = () => receiver.received.map((r) => JSON.parse(r.body.toString()).value as string);

  beforeEach(async () => {
    ({ s, receiver, log } = await egressSetUp(FAST_RETRIES));
  });
  afterEach(() => egressTearDown({ s, receiver }));

  it('signs with the Standard Webhooks headers, verified by the standardwebhooks library, also during a rotation', async () => {
    const created = await create({ signing: 'standard-webhooks' });
    expect(created.status).toBe(200);
    const { webhook_id, secret: first } = created.body;
    expect(created.body).toMatchObject({ mode: 'ordered', signing: 'standard-webhooks', headers: {} });
    expect(first).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    await publish('a');
    const [request] = await receiver.waitFor(1);
    expect(request!.headers['webhook-id']).toBe(`${log}_0`);
    expect(request!.headers).not.toHaveProperty('x-klev-signature');
    expect(standardVerified(request!, first)).toBe(true);
    // A wrong secret is refused by the library: the check above can fail.
    expect(standardVerified(request!, `whsec_${Buffer.alloc(24, 1).toString('base64')}`)).toBe(false);

    const { secret: second } = (await s.request('PATCH', `/egress_webhook/${webhook_id}/secret`, { body: { expire_seconds: 60 } })).body;
    expect(second).toMatch(/^whsec_/);
    await publish('b');
    const [, rotated] = await receiver.waitFor(2);
    expect(rotated!.headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(standardVerified(rotated!, second)).toBe(true);
    expect(standardVerified(rotated!, first)).toBe(true);
  });

  it('sends custom headers with every request, and an update replaces them', async () => {
    const { webhook_id, secret } = (await create({ headers: { 'X-Team': 'payments', 'User-Agent': 'acme-relay' } })).body;
    expect((await s.request('GET', `/egress_webhook/${webhook_id}`)).body.headers).toEqual({ 'x-team': 'payments', 'user-agent': 'acme-relay' });
    await publish('a');
    const [first] = await receiver.waitFor(1);
    expect(first!.headers).toMatchObject({ 'x-team': 'payments', 'user-agent': 'acme-relay', 'content-type': 'application/json' });
    expect(String(first!.headers['x-klev-signature'])).toMatch(/^t=\d+;v1=[0-9a-f]{64}$/);
    expect(secret).toMatch(/^ewhsec_/);

    const updated = await s.request('PATCH', `/egress_webhook/${webhook_id}`, { body: { headers: { 'X-Other': '1' } } });
    expect(updated.body.headers).toEqual({ 'x-other': '1' });
    await publish('b');
    const [, second] = await receiver.waitFor(2);
    expect(second!.headers['x-other']).toBe('1');
    expect(second!.headers).not.toHaveProperty('x-team');
    expect(second!.headers['user-agent']).toBe('hooklog');
  });

  it.each([
    ['Host', 'example.com'],
    ['content-length', '5'],
    ['Transfer-Encoding', 'chunked'],
    ['Connection', 'close'],
    ['Expect', '100-continue'],
    ['X-Klev-Signature', 't=1;v1=00'],
    ['webhook-signature', 'v1,AAAA'],
    ['svix-id', 'msg_1'],
    ['bad name', 'x'],
    ['X-Split', 'a\r\nInjected: yes'],
    ['X-Euro', '€'],
  ])('refuses the header %s with a 400, on create and on update, storing nothing', async (name, value) => {
    const { webhook_id } = (await create({})).body;
    const before = await snapshotStore(s);
    const refused = await create({ headers: { [name]: value } });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('ERR_KLEV_API_0102');
    expect(refused.body.details).toMatch(/^headers: /);
    const update = await s.request('PATCH', `/egress_webhook/${webhook_id}`, { body: { headers: { [name]: value } } });
    expect(update.status).toBe(400);
    expect(update.body.error).toBe('ERR_KLEV_API_0102');
    expect(await snapshotStore(s)).toEqual(before);
  });

  it('needs the right to read the log to change the headers, as to change the destination', async () => {
    const { webhook_id } = (await create({ headers: { 'X-Tenant': 'ours' } })).body;
    const narrow = (await s.request('POST', '/tokens', { body: { acl: [`egress_webhooks:update:${webhook_id}`] } })).body.bearer;
    const denied = await s.request('PATCH', `/egress_webhook/${webhook_id}`, { token: narrow, body: { headers: { Authorization: 'Basic dGhlaXJz' } } });
    expect(denied.status).toBe(403);
    expect((await s.request('GET', `/egress_webhook/${webhook_id}`)).body.headers).toEqual({ 'x-tenant': 'ours' });
    expect((await s.request('PATCH', `/egress_webhook/${webhook_id}`, { token: narrow, body: { metadata: 'm' } })).status).toBe(200);
  });

  it('takes __proto__ as a header name like any other, and bounds the headers in all', async () => {
    const created = await create({ headers: JSON.parse('{"__proto__": "1"}') });
    expect(created.body.headers).toEqual(JSON.parse('{"__proto__": "1"}'));
    const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`x-${i}`, 'v'.repeat(900)]));
    const refused = await create({ headers: big });
    expect(refused.status).toBe(400);
    expect(refused.body.details).toMatch(/^headers: \d+ bytes in all, over the 8192 allowed$/);
  });

  it('refuses headers that are not an object of strings, too many of them, and a repeated name', async () => {
    const refused = async (headers: unknown) => {
      const res = await create({ headers });
      expect(res.status).toBe(400);
      return res.body.details as string;
    };
    expect(await refused({ 'x-a': 1 })).toBe('headers must be a JSON object of at most 20 header names, each with a string value');
    expect(await refused(['x'])).toMatch(/^headers must be/);
    expect(await refused(Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-${i}`, 'v'])))).toMatch(/^headers must be/);
    expect(await refused({ 'X-A': '1', 'x-a': '2' })).toBe('headers: x-a is given twice (names are case-insensitive)');
    expect((await s.request('GET', '/egress_webhooks')).body.items).toEqual([]);
  });

  it('fixes mode and signing at creation, and names the choices when one is wrong', async () => {
    const wrong = await create({ signing: 'hmac' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.details).toBe(`signing must be 'klev' or 'standard-webhooks' or 'svix', got "hmac"`);
    expect((await create({ mode: 'random' })).body.details).toBe(`mode must be 'ordered' or 'parallel', got "random"`);
    const { webhook_id } = (await create({ mode: '', signing: '' })).body;
    expect((await s.request('GET', `/egress_webhook/${webhook_id}`)).body).toMatchObject({ mode: 'ordered', signing: 'klev' });
    const change = await s.request('PATCH', `/egress_webhook/${webhook_id}`, { body: { signing: 'standard-webhooks' } });
    expect(change.status).toBe(400);
    expect(change.body.details).toMatch(/^unknown field "signing"/);
  });

  it('parallel mode: a failing message is retried aside while the next ones are delivered, then dropped, and the destination stays active', async () => {
    const { webhook_id } = (await create({ mode: 'parallel' })).body;
    receiver.respond = (request) => (JSON.parse(request.body.toString()).value === 'm3' ? { status: 500 } : { status: 200 });
    await publish('m1', 'm2', 'm3', 'm4', 'm5', 'm6');
    await eventually(() => expect(values().filter((value) => value === 'm3')).toHaveLength(4));
    await new Promise((resolve) => setTimeout(resolve, 500));
    const got = values();
    // Tried at once, then after 0.1 s three times (the schedule 0, 0.1, 0.1, 0.1 s), then no more.
    expect(got.filter((value) => value === 'm3')).toHaveLength(4);
    expect(got.filter((value) => value !== 'm3')).toEqual(['m1', 'm2', 'm4', 'm5', 'm6']);
    // The cursor did not wait for m3: m4 to m6 arrived before its last retry.
    expect(got.indexOf('m6')).toBeLessThan(got.lastIndexOf('m3'));
    expect((await s.request('GET', `/egress_webhook/${webhook_id}/status`)).body).toMatchObject({ active: true, next_offset: 6 });
  });
});
