import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Receiver, startReceiver } from './helpers/receiver.js';
import { undocumented } from './helpers/routes.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/** hooklog's extensions to klev's messages: event_type, event_id, channels and tags, on publish and on every read. */
describe('message attributes API', () => {
  let s: TestServer;
  let log: string;
  const consume = (query: Record<string, string | number> = {}) => s.request('GET', `/messages/${log}`, { query: { offset: 0, len: 100, ...query } });
  const publish = (messages: Record<string, unknown>[]) => s.request('POST', `/messages/${log}`, { body: { messages } });
  const attributes = { event_type: 'user.signup', event_id: 'evt_1', channels: ['project_1', 'group-2'], tags: ['beta'] };

  beforeEach(async () => {
    s = await startTestServer();
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
  });
  afterEach(async () => {
    await s.close();
  });

  it('publishes attributes in a batch and alone, and every read returns them only where present', async () => {
    expect((await publish([{ key: 'k', value: 'v', ...attributes }, { value: 'plain' }])).body).toEqual({ next_offset: 2 });
    expect((await s.request('POST', `/message/${log}`, { body: { key: 'one', event_type: 'orders/create' } })).body).toEqual({ next_offset: 3 });

    const page = await consume();
    expect(page.status).toBe(200);
    expect(undocumented(s, 'GET /messages/:log_id', page.body)).toEqual([]);
    expect(page.body.messages).toEqual([
      { offset: 0, time: expect.any(Number), key: 'k', value: 'v', ...attributes },
      { offset: 1, time: expect.any(Number), value: 'plain' },
      { offset: 2, time: expect.any(Number), key: 'one', event_type: 'orders/create' },
    ]);
    // In base64 too, and with the stored headers asked for.
    expect((await consume({ encoding: 'base64', headers: 'true' })).body.messages[0]).toEqual({
      offset: 0,
      time: expect.any(Number),
      key: Buffer.from('k').toString('base64'),
      value: Buffer.from('v').toString('base64'),
      ...attributes,
    });
    const one = await s.request('GET', `/message/${log}`, { query: { offset: 0 } });
    expect(one.body).toMatchObject({ encoding: 'string', ...attributes });
    expect(undocumented(s, 'GET /message/:log_id', one.body)).toEqual([]);
    expect((await s.request('GET', `/message/${log}`, { query: { offset: 1 } })).body).toEqual({
      encoding: 'string',
      offset: 1,
      time: expect.any(Number),
      value: 'plain',
    });
    expect((await s.request('GET', `/message/${log}/key`, { query: { key: 'k' } })).body).toMatchObject(attributes);
    expect((await s.request('POST', `/message/${log}/key`, { body: { key: 'one' } })).body).toMatchObject({ event_type: 'orders/create' });
  });

  it('takes empty or null lists as absent', async () => {
    await publish([
      { value: 'a', channels: [], tags: [] },
      { value: 'b', channels: null, tags: null, event_id: 'x' },
    ]);
    const [a, b] = (await consume()).body.messages;
    expect(a).toEqual({ offset: 0, time: expect.any(Number), value: 'a' });
    expect(b).toEqual({ offset: 1, time: expect.any(Number), value: 'b', event_id: 'x' });
  });

  it('accepts attributes at their limits', async () => {
    const at = {
      event_type: `${'t'.repeat(254)}/.`,
      event_id: `-_.${'i'.repeat(253)}`,
      channels: Array.from({ length: 5 }, (_, i) => `${i}`.repeat(128)),
      tags: ['A-z_0.9'],
    };
    expect((await publish([{ value: 'v', ...at }])).status).toBe(200);
    expect((await consume()).body.messages[0]).toMatchObject(at);
  });

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an event type over 256 characters', { event_type: 't'.repeat(257) }, /event type of message 1 must be 1 to 256/],
    ['an empty event type', { event_type: '' }, /event type of message 1/],
    ['an event type with a space', { event_type: 'user signup' }, /event type of message 1/],
    ['an event type that is not text', { event_type: 7 }, /event_type must be a string/],
    ['an event id over 256 characters', { event_id: 'i'.repeat(257) }, /event id of message 1 must be 1 to 256/],
    ['an event id with a slash', { event_id: 'a/b' }, /event id of message 1/],
    ['six channels', { channels: ['a', 'b', 'c', 'd', 'e', 'f'] }, /channels of message 1 are 6; at most 5/],
    ['a channel with a colon', { channels: ['project:1'] }, /each of the channels of message 1 must be 1 to 128/],
    ['a channel over 128 characters', { channels: ['c'.repeat(129)] }, /129 characters/],
    ['an empty tag', { tags: [''] }, /each of the tags of message 1/],
    ['a tag given twice', { tags: ['a', 'b', 'a'] }, /tags of message 1 hold "a" twice/],
    ['channels that are not an array', { channels: 'project_1' }, /channels must be an array of strings/],
    ['a tag that is not text', { tags: [1] }, /tags must be an array of strings/],
  ];

  it.each(refused)('refuses %s with 400 field_invalid, and appends nothing of the batch', async (_what, fields, details) => {
    const res = await publish([{ value: 'fine' }, { value: 'bad', ...fields }]);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'ERR_KLEV_API_0102', message: 'Field invalid', details: expect.stringMatching(details) });
    expect((await consume()).body).toEqual({ next_offset: 0, encoding: 'string', messages: [] });
    const alone = await s.request('POST', `/message/${log}`, { body: { value: 'bad', ...fields } });
    expect(alone.status).toBe(400);
    expect(alone.body.error).toBe('ERR_KLEV_API_0102');
    expect((await s.request('GET', `/log/${log}`)).status).toBe(200);
    expect((await consume()).body.messages).toEqual([]);
  });
});

describe('message attributes in egress payloads', () => {
  let s: TestServer;
  let receiver: Receiver;

  beforeEach(async () => {
    s = await startTestServer({ allowPrivateDestinations: true });
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await s.close();
    await receiver.close();
  });

  it('sends them in the message payload, only where present', async () => {
    const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    await s.request('POST', '/egress_webhooks', { body: { log_id: log, destination: receiver.url, payload: 'message' } });
    await s.request('POST', `/messages/${log}`, { body: { messages: [{ value: 'a', event_type: 'invoice.paid', channels: ['acme'] }, { value: 'b' }] } });
    const [first, second] = await receiver.waitFor(2);
    expect(JSON.parse(first!.body.toString())).toEqual({
      encoding: 'string',
      offset: 0,
      time: expect.any(Number),
      value: 'a',
      event_type: 'invoice.paid',
      channels: ['acme'],
    });
    expect(JSON.parse(second!.body.toString())).toEqual({ encoding: 'string', offset: 1, time: expect.any(Number), value: 'b' });
  });
});
