import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { egressSetUp, egressTearDown, FAST_RETRIES } from './helpers/egress.js';
import { type Received, type Receiver, startReceiver } from './helpers/receiver.js';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

/** Checks a klev signature the way a receiver would, independently of hooklog's own code. */
function signedWith(received: Received, secret: string): boolean {
  const header = String(received.headers['x-klev-signature']);
  const t = header.match(/(?:^|;)t=(\d+)/)?.[1];
  const expected = createHmac('sha256', secret).update(`${t}.`).update(received.body).digest('hex');
  return [...header.matchAll(/v1=([0-9a-f]+)/g)].some((m) => m[1] === expected);
}

describe('egress delivery', () => {
  let s: TestServer;
  let receiver: Receiver;
  let log: string;
  const publish = (...values: string[]) => s.request('POST', `/messages/${log}`, { body: { messages: values.map((value) => ({ value })) } });
  const webhook = async (body: Record<string, unknown> = {}) =>
    (await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url, ...body } })).body as { webhook_id: string; secret: string };
  const status = async (id: string) => (await s.request('GET', `/egress_webhook/${id}/status`)).body;
  const values = () => receiver.received.map((r) => JSON.parse(r.body.toString()).value);

  beforeEach(async () => {
    ({ s, receiver, log } = await egressSetUp(FAST_RETRIES));
  });
  afterEach(() => egressTearDown({ s, receiver }));

  it('POSTs each new message once, in offset order, as signed klev JSON', async () => {
    const { webhook_id, secret } = await webhook();
    await publish(...Array.from({ length: 30 }, (_, i) => `m${i}`));
    await receiver.waitFor(30);
    expect(values()).toEqual(Array.from({ length: 30 }, (_, i) => `m${i}`));
    const first = receiver.received[0]!;
    expect(first.headers['content-type']).toBe('application/json');
    expect(JSON.parse(first.body.toString())).toEqual({ encoding: 'string', offset: 0, time: expect.any(Number), value: 'm0' });
    expect(receiver.received.every((r) => signedWith(r, secret))).toBe(true);
    expect(String(first.headers['x-klev-signature'])).toMatch(/^t=\d+;v1=[0-9a-f]{64}$/);
    await eventually(async () => expect(await status(webhook_id)).toMatchObject({ next_offset: 30, deliver_offset: 29, available_offset: 29 }));
  });

  it.each([
    ['its log', () => `/log/${log}`],
    ['the webhook', (id: string) => `/egress_webhook/${id}`],
  ])('deleting %s stops its deliveries before the answer: no attempt starts after it', async (_what, path) => {
    const { webhook_id } = await webhook();
    receiver.fallback = { status: 200, delayMs: 50 };
    await publish(...Array.from({ length: 60 }, (_, i) => `m${i}`));
    await receiver.waitFor(5);
    expect((await s.request('DELETE', path(webhook_id))).status).toBe(200);
    const answered = receiver.received.length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    // Only an attempt already under way when the delete arrived may still land.
    expect(receiver.received.length - answered).toBeLessThanOrEqual(1);
    expect(receiver.received.length).toBeLessThan(20);
  });

  it("records an answer holding NUL characters, which PostgreSQL's text refuses, and moves on", async () => {
    const { webhook_id } = await webhook();
    receiver.script({ status: 200, body: 'ok\u0000nul' });
    await publish('a', 'b');
    await receiver.waitFor(2);
    await eventually(async () => expect(await status(webhook_id)).toMatchObject({ next_offset: 2, deliver_offset: 1 }));
    expect(receiver.received).toHaveLength(2);
    // The first answer is kept, its NUL shown as U+FFFD.
    const attempts = await s.server.store.egress.attempts(webhook_id, { limit: 10 });
    expect(attempts.map((a) => a.response).sort()).toEqual(['', 'ok\ufffdnul']);
  });

  it('sends binary messages as base64 JSON, and key or value payloads as raw bytes', async () => {
    const message = await webhook();
    const key = await webhook({ payload: 'key' });
    const value = await webhook({ payload: 'value' });
    const bytes = Buffer.from([0, 255, 1, 254]);
    await s.request('POST', `/message/${log}`, { body: { encoding: 'base64', key: Buffer.from('k').toString('base64'), value: bytes.toString('base64') } });
    await receiver.waitFor(3);
    const signedBy = (secret: string) => receiver.received.find((r) => signedWith(r, secret))!;
    const json = signedBy(message.secret);
    expect(json.headers['content-type']).toBe('application/json');
    expect(JSON.parse(json.body.toString())).toEqual({ encoding: 'base64', offset: 0, time: expect.any(Number), key: 'aw==', value: bytes.toString('base64') });
    expect(signedBy(key.secret).headers['content-type']).toBe('application/octet-stream');
    expect(signedBy(key.secret).body).toEqual(Buffer.from('k'));
    expect(signedBy(value.secret).headers['content-type']).toBe('application/octet-stream');
    expect(signedBy(value.secret).body).toEqual(bytes);
  });

  it('signs with both secrets while the old one is valid, then with the new one only', async () => {
    const { webhook_id, secret: old } = await webhook();
    const { secret: fresh } = (await s.request('PATCH', `/egress_webhook/${webhook_id}/secret`, { body: { expire_seconds: 1 } })).body;
    await publish('during');
    const [during] = await receiver.waitFor(1);
    expect(String(during!.headers['x-klev-signature']).match(/v1=/g)).toHaveLength(2);
    expect(signedWith(during!, old) && signedWith(during!, fresh)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await publish('after');
    const after = (await receiver.waitFor(2))[1]!;
    expect(signedWith(after, fresh)).toBe(true);
    expect(signedWith(after, old)).toBe(false);
    // Rotation without expire_seconds drops the old secret at once.
    const { secret: third } = (await s.request('PATCH', `/egress_webhook/${webhook_id}/secret`, { body: {} })).body;
    await publish('now');
    const now = (await receiver.waitFor(3))[2]!;
    expect(String(now.headers['x-klev-signature']).match(/v1=/g)).toHaveLength(1);
    expect(signedWith(now, third)).toBe(true);
  });

  it('retries a 500 until it succeeds, keeping order, and records every attempt', async () => {
    const { webhook_id } = await webhook();
    receiver.script({ status: 500, body: 'boom' }, { status: 503 });
    await publish('a', 'b');
    await receiver.waitFor(4);
    expect(values()).toEqual(['a', 'a', 'a', 'b']);
    await eventually(async () => expect((await status(webhook_id)).next_offset).toBe(2));
    const attempts = await s.server.store.egress.attempts(webhook_id, { limit: 10 });
    expect(attempts.reverse().map((a) => [a.offset, a.attempt, a.statusCode, a.error, a.trigger])).toEqual([
      [0, 1, 500, 'HTTP 500', 'scheduled'],
      [0, 2, 503, 'HTTP 503', 'scheduled'],
      [0, 3, 200, '', 'scheduled'],
      [1, 1, 200, '', 'scheduled'],
    ]);
    expect(attempts[0]!.response).toBe('boom');
    expect(attempts.every((a) => a.durationMs >= 0 && a.time > 0)).toBe(true);
  });

  it('shows a failing attempt in the status while it waits to retry', async () => {
    const slowRetries = await startTestServer({ allowPrivateDestinations: true, retrySchedule: [0, 60] });
    const slowLog = (await slowRetries.request('POST', '/logs', { body: {} })).body.log_id;
    const { webhook_id } = (await slowRetries.request('POST', '/egress_webhooks', { body: { log_id: slowLog, destination: receiver.url } })).body;
    receiver.script({ status: 500, headers: { 'x-reason': 'down' }, body: 'maintenance' });
    await slowRetries.request('POST', `/message/${slowLog}`, { body: { value: 'x' } });
    await receiver.waitFor(1);
    await eventually(async () => {
      const st = (await slowRetries.request('GET', `/egress_webhook/${webhook_id}/status`)).body;
      expect(st).toMatchObject({ active: true, next_offset: 0, deliver_offset: 0, deliver_error: 'HTTP 500', available_offset: 0 });
      expect(st.deliver_resp).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n(.*\r\n)*X-Reason: down\r\n(.*\r\n)*\r\nmaintenance$/);
      // Retry in 60 s ± 20 %.
      expect(st.next_deliver_time - st.deliver_time).toBeGreaterThanOrEqual(47);
      expect(st.next_deliver_time - st.deliver_time).toBeLessThanOrEqual(73);
    });
    await slowRetries.close();
  });

  it('retries after a timeout and after a connection reset', async () => {
    const { webhook_id } = await webhook();
    receiver.script({ hang: true }, { reset: true });
    await publish('x');
    await receiver.waitFor(3);
    await eventually(async () => expect((await status(webhook_id)).next_offset).toBe(1));
    const attempts = (await s.server.store.egress.attempts(webhook_id, { limit: 10 })).reverse();
    expect(attempts.map((a) => a.statusCode)).toEqual([null, null, 200]);
    expect(attempts[0]!.error).toMatch(/timeout/);
    expect(attempts[1]!.error).toMatch(/ECONNRESET|socket|closed/i);
  });

  it('counts the retry delay from the end of a timed-out attempt, not from its start', async () => {
    const slow = await startTestServer({ allowPrivateDestinations: true, retrySchedule: [0, 1], deliveryTimeoutSeconds: 1 });
    onTestFinished(() => slow.close());
    const slowLog = (await slow.request('POST', '/logs', { body: {} })).body.log_id;
    const { webhook_id } = (await slow.request('POST', '/egress_webhooks', { body: { log_id: slowLog, destination: receiver.url } })).body;
    receiver.script({ hang: true });
    await slow.request('POST', `/message/${slowLog}`, { body: { value: 'x' } });
    const [first, second] = await receiver.waitFor(2);
    // 1 s of timeout, then the 1 s retry (at least 0.8 s with jitter).
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1750);
    await eventually(async () => expect(await slow.server.store.egress.attempts(webhook_id, { limit: 10 })).toHaveLength(2));
    const [timedOut, retried] = (await slow.server.store.egress.attempts(webhook_id, { limit: 10 })).reverse();
    expect(timedOut!.error).toMatch(/timeout/);
    // The recorded time is when the attempt was sent; it ended durationMs later. 10 ms
    // less than the 0.8 s: the two clocks are read and rounded separately.
    expect(retried!.time - (timedOut!.time + timedOut!.durationMs)).toBeGreaterThanOrEqual(790);
  });

  it('honours Retry-After', async () => {
    const { webhook_id } = await webhook();
    receiver.script({ status: 429, headers: { 'retry-after': '1' } });
    await publish('x');
    const [first, second] = await receiver.waitFor(2);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    await eventually(async () => expect((await status(webhook_id)).next_offset).toBe(1));
  });

  it('deactivates at once on 410 Gone', async () => {
    const { webhook_id } = await webhook();
    receiver.script({ status: 410 });
    await publish('x', 'y');
    await receiver.waitFor(1);
    await eventually(async () =>
      expect(await status(webhook_id)).toMatchObject({ active: false, inactive_reason: expect.stringContaining('410'), next_offset: 0 }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
  });

  it('deactivates when the schedule is used up, and resumes from the failed message when re-activated', async () => {
    const { webhook_id } = await webhook();
    receiver.fallback = { status: 500 };
    await publish('stuck', 'next');
    await receiver.waitFor(4);
    await eventually(async () =>
      expect(await status(webhook_id)).toMatchObject({ active: false, inactive_reason: expect.stringMatching(/after 4 attempts.*HTTP 500/), next_offset: 0 }),
    );
    const st = await status(webhook_id);
    expect(st.next_deliver_time).toBeUndefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(4);

    receiver.fallback = { status: 200 };
    const reactivated = await s.request('PATCH', `/egress_webhook/${webhook_id}`, { body: { active: true } });
    expect(reactivated.status).toBe(200);
    await receiver.waitFor(6);
    expect(values().slice(4)).toEqual(['stuck', 'next']);
    await eventually(async () => expect(await status(webhook_id)).toMatchObject({ active: true, next_offset: 2 }));
    expect((await status(webhook_id)).inactive_reason).toBeUndefined();
  });

  it('a hung receiver does not stall other webhooks', async () => {
    const hung = await startReceiver();
    hung.fallback = { hang: true };
    await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: hung.url } });
    await webhook();
    await publish('a', 'b', 'c');
    await receiver.waitFor(3, 2000);
    expect(values()).toEqual(['a', 'b', 'c']);
    await hung.close();
  });

  it('follows a destination change and stops after deletion', async () => {
    const other = await startReceiver();
    const { webhook_id } = await webhook();
    await publish('one');
    await receiver.waitFor(1);
    await s.request('PATCH', `/egress_webhook/${webhook_id}`, { body: { destination: other.url } });
    await publish('two');
    await other.waitFor(1);
    await s.request('DELETE', `/egress_webhook/${webhook_id}`);
    await publish('three');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(receiver.received).toHaveLength(1);
    expect(other.received.map((r) => JSON.parse(r.body.toString()).value)).toEqual(['two']);
    await other.close();
  });
});

describe('egress delivery to private addresses', () => {
  it('is refused at delivery time unless allowed, and shown in the status', async () => {
    const receiver = await startReceiver();
    const s = await startTestServer({ retrySchedule: [0], deliveryTimeoutSeconds: 1 });
    const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    // A name that is not an address passes the check at creation, and resolves
    // to loopback only when connecting: this machine's own name (/etc/hosts).
    const name = hostname();
    const { address } = await lookup(name);
    expect(address, `${name} should resolve to a private address on the test machine`).toMatch(/^127\.|^::1$/);
    const port = new URL(receiver.url).port;
    const { webhook_id } = (await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: `http://${name}:${port}/` } })).body;
    await s.request('POST', `/message/${log}`, { body: { value: 'x' } });
    await eventually(async () => {
      const st = (await s.request('GET', `/egress_webhook/${webhook_id}/status`)).body;
      expect(st.active).toBe(false);
      expect(st.deliver_error).toBe(`refused to connect to private address ${address} (set HOOKLOG_ALLOW_PRIVATE_DESTINATIONS=true to allow)`);
    });
    expect(receiver.received).toHaveLength(0);
    await s.close();
    await receiver.close();
  });

  it('refuses, when connecting, literal addresses that embed a private IPv4 or are reserved', async () => {
    const receiver = await startReceiver();
    const s = await startTestServer({ retrySchedule: [0], deliveryTimeoutSeconds: 1 });
    onTestFinished(async () => {
      await s.close();
      await receiver.close();
    });
    const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    const port = new URL(receiver.url).port;
    // Each on the receiver's port, so that one that got through would be seen there.
    const addresses = ['::7f00:1', '64:ff9b::a00:1', '2002:7f00:1::1', '::ffff:7f00:1', '192.0.2.10'];
    const webhooks = new Map<string, string>();
    for (const address of addresses) {
      const { webhook_id } = (await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: 'https://example.com/hook' } })).body;
      // The API refuses these destinations; one stored before it did is refused when connecting.
      await s.server.store.egress.update(webhook_id, { destination: `http://${address.includes(':') ? `[${address}]` : address}:${port}/` });
      // Any change through the API makes the webhook's lane read it again.
      expect((await s.request('PATCH', `/egress_webhook/${webhook_id}`, { body: { metadata: 'stored' } })).status).toBe(200);
      webhooks.set(address, webhook_id);
    }
    await s.request('POST', `/message/${log}`, { body: { value: 'x' } });
    for (const [address, id] of webhooks) {
      const refusal = `refused to connect to private address ${address} (set HOOKLOG_ALLOW_PRIVATE_DESTINATIONS=true to allow)`;
      await eventually(async () =>
        expect((await s.request('GET', `/egress_webhook/${id}/status`)).body).toMatchObject({ active: false, deliver_error: refusal }),
      );
      const attempts = await s.server.store.egress.attempts(id, { limit: 10 });
      expect(
        attempts.map((a) => [a.statusCode, a.error]),
        address,
      ).toEqual([[null, refusal]]);
    }
    expect(receiver.received).toHaveLength(0);
  });
});
