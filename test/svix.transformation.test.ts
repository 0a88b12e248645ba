import { Svix, Webhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST_RETRIES } from './helpers/egress.js';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { ADMIN, eventually, startTestServer, type TestServer } from './helpers/server.js';
import { refusal } from './helpers/svix.js';

/** Svix's own example shape: a transformation as Svix documents it, a script declaring handler. */
const TO_SLACK = `function handler(webhook) {
  const push = webhook.payload;
  webhook.payload = { text: push.pusher.name + ' pushed ' + push.commits.length + ' commit(s) to ' + push.ref.split('/').pop() + ' (' + webhook.eventType + ')' };
  webhook.headers['x-slack-channel'] = '#deploys';
  return webhook;
}`;

describe('Svix API: endpoint transformations, through the official SDK', () => {
  let s: TestServer;
  let svix: Svix;
  let receiver: Receiver;

  beforeAll(async () => {
    s = await startTestServer({ allowPrivateDestinations: true, ...FAST_RETRIES });
    svix = new Svix(ADMIN, { serverUrl: s.url });
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await s.close();
    await receiver.close();
  });

  const at = (path: string) => receiver.received.filter((request) => request.path === new URL(`${receiver.url}${path}`).pathname);

  it('sets, reads and unsets a transformation, and delivers the reshaped payload signed over the new body', async () => {
    await svix.application.create({ name: 'Reshaped', uid: 'reshaped' });
    const endpoint = await svix.endpoint.create('reshaped', { url: `${receiver.url}/slack` });
    expect(await svix.endpoint.transformationGet('reshaped', endpoint.id)).toMatchObject({ code: null, enabled: false });

    await svix.endpoint.transformationPartialUpdate('reshaped', endpoint.id, { code: TO_SLACK, enabled: true });
    const stored = await svix.endpoint.transformationGet('reshaped', endpoint.id);
    expect(stored).toMatchObject({ code: TO_SLACK, enabled: true });
    expect(stored.updatedAt).toBeInstanceOf(Date);

    const payload = { ref: 'refs/heads/main', pusher: { name: 'ada' }, commits: [{ id: 'a' }, { id: 'b' }] };
    const sent = await svix.message.create('reshaped', { eventType: 'github.push', payload });
    const [arrived] = await eventually(() => {
      expect(at('/slack')).toHaveLength(1);
      return at('/slack');
    });
    const reshaped = { text: 'ada pushed 2 commit(s) to main (github.push)' };
    expect(JSON.parse(arrived!.body.toString())).toEqual(reshaped);
    expect(arrived!.headers['x-slack-channel']).toBe('#deploys');
    expect(arrived!.headers['content-type']).toBe('application/json');
    expect(arrived!.headers['svix-id']).toBe(sent.id);
    const { key } = await svix.endpoint.getSecret('reshaped', endpoint.id);
    const headers = arrived!.headers as Record<string, string>;
    expect(new Webhook(key).verify(arrived!.body.toString(), headers)).toEqual(reshaped);
    expect(() => new Webhook(key).verify(JSON.stringify(payload), headers)).toThrow();

    // Disabled: kept, not run. Patching `enabled` alone keeps the code.
    await svix.endpoint.transformationPartialUpdate('reshaped', endpoint.id, { enabled: false });
    expect(await svix.endpoint.transformationGet('reshaped', endpoint.id)).toMatchObject({ code: TO_SLACK, enabled: false });
    await svix.message.create('reshaped', { eventType: 'github.push', payload });
    await eventually(() => expect(at('/slack')).toHaveLength(2));
    expect(JSON.parse(at('/slack')[1]!.body.toString())).toEqual(payload);
    // As Svix sends it, with no transformation too.
    expect(at('/slack')[1]!.headers['content-type']).toBe('application/json');

    // code null unsets it.
    await svix.endpoint.transformationPartialUpdate('reshaped', endpoint.id, { code: null });
    expect(await svix.endpoint.transformationGet('reshaped', endpoint.id)).toMatchObject({ code: null, enabled: false });
  });

  it('counts a cancelled message as canceled, with no attempt, and shows a failing transformation in its attempts', async () => {
    await svix.application.create({ name: 'Cancels', uid: 'cancels' });
    const endpoint = await svix.endpoint.create('cancels', { url: `${receiver.url}/cancels` });
    await svix.endpoint.transformationPartialUpdate('cancels', endpoint.id, {
      code: 'function handler(webhook) { webhook.cancel = webhook.eventType === "noise"; if (webhook.payload.boom) throw new Error("boom"); return webhook }',
    });
    const noise = await svix.message.create('cancels', { eventType: 'noise', payload: {} });
    await svix.message.create('cancels', { eventType: 'signal', payload: { n: 1 } });
    const boom = await svix.message.create('cancels', { eventType: 'signal', payload: { boom: true } });
    await eventually(() => expect(at('/cancels')).toHaveLength(1));
    await eventually(async () => expect(await svix.endpoint.getStats('cancels', endpoint.id)).toMatchObject({ canceled: 1, success: 1, fail: 1 }));
    expect((await svix.messageAttempt.listByMsg('cancels', noise.id)).data).toEqual([]);
    const failed = (await svix.messageAttempt.listByMsg('cancels', boom.id)).data;
    expect(failed).toHaveLength(FAST_RETRIES.retrySchedule!.length);
    for (const attempt of failed)
      expect(attempt).toMatchObject({
        responseStatusCode: 0,
        status: 2,
        response: expect.stringMatching(/^transformation failed: Error: boom \(line 1, column \d+\)$/),
      });
  });

  it('refuses code that does not load, and what the SDK may send that hooklog does not support', async () => {
    await svix.application.create({ name: 'Refused', uid: 'refused' });
    const endpoint = await svix.endpoint.create('refused', { url: 'https://example.com/refused' });
    const broken = await refusal(svix.endpoint.transformationPartialUpdate('refused', endpoint.id, { code: 'function handler(webhook) {' }));
    expect(broken).toMatchObject({ code: 422, body: { detail: [{ type: 'value_error.transformation_invalid', msg: expect.stringMatching(/SyntaxError/) }] } });
    const variables = await refusal(
      svix.endpoint.patchTransformation('refused', endpoint.id, { code: 'function handler(w) { return w }', variables: { a: 'b' } }),
    );
    expect(variables).toMatchObject({ code: 400, body: { code: 'operation_unsupported' } });
    const nothing = await refusal(svix.endpoint.transformationPartialUpdate('refused', endpoint.id, { enabled: true }));
    expect(nothing).toMatchObject({ code: 422 });
    expect(await svix.endpoint.transformationGet('refused', endpoint.id)).toMatchObject({ code: null, enabled: false });
    expect((await refusal(svix.endpoint.transformationGet('refused', 'ep_nope'))).code).toBe(404);
  });
});
