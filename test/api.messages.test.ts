import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('messages API', () => {
  let s: TestServer;
  let log: string;
  const consume = (query: Record<string, string | number> = {}) => s.request('GET', `/messages/${log}`, { query });

  beforeEach(async () => {
    s = await startTestServer();
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
  });
  afterEach(async () => {
    await s.close();
  });

  it('publishes a batch and returns the next offset', async () => {
    const res = await s.request('POST', `/messages/${log}`, { body: { encoding: 'string', messages: [{ key: 'hello world' }] } });
    expect(res).toMatchObject({ status: 200, body: { next_offset: 1 } });
    const more = await s.request('POST', `/messages/${log}`, { body: { messages: [{ value: 'a' }, { value: 'b' }] } });
    expect(more.body).toEqual({ next_offset: 3 });
    expect((await s.request('POST', `/messages/${log}`, { body: { messages: [] } })).body).toEqual({ next_offset: 3 });
  });

  it('publishes one message', async () => {
    await s.request('POST', `/message/${log}`, { body: { key: 'a' } });
    const res = await s.request('POST', `/message/${log}`, { body: { encoding: 'string', key: 'hello world' } });
    expect(res.body).toEqual({ next_offset: 2 });
  });

  it('consumes from the start (-2), with the documented shape', async () => {
    const before = Date.now() * 1000;
    await s.request('POST', `/message/${log}`, { body: { key: 'hello world' } });
    const res = await consume({ offset: -2 });
    expect(res.body).toEqual({ next_offset: 1, encoding: 'string', messages: [{ offset: 0, time: expect.any(Number), key: 'hello world' }] });
    const time = res.body.messages[0].time;
    expect(time).toBeGreaterThanOrEqual(before - 1000);
    expect(time).toBeLessThanOrEqual(Date.now() * 1000 + 1000);
  });

  it('consumes from the end of the log by default (-1 or no offset)', async () => {
    await s.request('POST', `/messages/${log}`, { body: { messages: [{ value: 'old' }] } });
    expect((await consume()).body).toEqual({ next_offset: 1, encoding: 'string', messages: [] });
    expect((await consume({ offset: -1 })).body).toEqual({ next_offset: 1, encoding: 'string', messages: [] });
  });

  it('returns 10 messages by default and len on request, paging with next_offset', async () => {
    const messages = Array.from({ length: 25 }, (_, i) => ({ value: `m${i}` }));
    await s.request('POST', `/messages/${log}`, { body: { messages } });
    const first = await consume({ offset: 0 });
    expect(first.body.messages).toHaveLength(10);
    expect(first.body.next_offset).toBe(10);
    const rest = await consume({ offset: first.body.next_offset, len: 100 });
    expect(rest.body.messages.map((m: { offset: number }) => m.offset)).toEqual(Array.from({ length: 15 }, (_, i) => i + 10));
    expect(rest.body.next_offset).toBe(25);
  });

  it('keeps the publisher time when given one', async () => {
    await s.request('POST', `/message/${log}`, { body: { time: 1670598756024123, value: 'v' } });
    expect((await consume({ offset: 0 })).body.messages[0].time).toBe(1670598756024123);
  });

  it('keeps nil apart from empty: nil is omitted, empty is ""', async () => {
    await s.request('POST', `/messages/${log}`, {
      body: { messages: [{}, { key: '', value: '' }, { key: null, value: 'v' }, { key: 'k', value: null }] },
    });
    const messages = (await consume({ offset: 0 })).body.messages.map(({ time, ...rest }: { time: number }) => rest);
    expect(messages).toEqual([{ offset: 0 }, { offset: 1, key: '', value: '' }, { offset: 2, value: 'v' }, { offset: 3, key: 'k' }]);
  });

  it('round-trips arbitrary bytes with base64', async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0xc3, 0x28]);
    await s.request('POST', `/message/${log}`, {
      body: { encoding: 'base64', key: Buffer.from('k\u00e9').toString('base64'), value: bytes.toString('base64') },
    });
    const res = await consume({ offset: 0, encoding: 'base64' });
    expect(res.body.encoding).toBe('base64');
    expect(Buffer.from(res.body.messages[0].value, 'base64')).toEqual(bytes);
    // The value is not UTF-8, so a page asked for as string comes in base64, keeping every byte.
    const asString = await consume({ offset: 0 });
    expect(asString.body.encoding).toBe('base64');
    expect(Buffer.from(asString.body.messages[0].key, 'base64').toString()).toBe('k\u00e9');
    expect(Buffer.from(asString.body.messages[0].value, 'base64')).toEqual(bytes);
  });

  it('gets a message by offset, the next available one, the newest (-1) and the oldest (-2)', async () => {
    await s.request('POST', `/messages/${log}`, { body: { messages: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] } });
    const one = await s.request('GET', `/message/${log}`, { query: { offset: 1 } });
    expect(one.body).toEqual({ encoding: 'string', offset: 1, time: expect.any(Number), value: 'b' });
    expect((await s.request('GET', `/message/${log}`)).body.value).toBe('c');
    expect((await s.request('GET', `/message/${log}`, { query: { offset: -2 } })).body.value).toBe('a');
    const beyond = await s.request('GET', `/message/${log}`, { query: { offset: 3 } });
    expect(beyond).toMatchObject({ status: 404, body: { error: 'ERR_KLEV_API_0110' } });
  });

  it('gets the message with the highest offset for a key, by GET and by POST', async () => {
    await s.request('POST', `/messages/${log}`, {
      body: {
        messages: [
          { key: 'hello world', value: '1' },
          { key: 'other', value: 'x' },
          { key: 'hello world', value: '2' },
        ],
      },
    });
    const byGet = await s.request('GET', `/message/${log}/key`, { query: { key: 'hello world' } });
    expect(byGet.body).toEqual({ encoding: 'string', offset: 2, time: expect.any(Number), key: 'hello world', value: '2' });
    const byPost = await s.request('POST', `/message/${log}/key`, { body: { encoding: 'base64', key: Buffer.from('other').toString('base64') } });
    expect(byPost.body).toMatchObject({ encoding: 'base64', offset: 1, value: Buffer.from('x').toString('base64') });
    expect((await s.request('GET', `/message/${log}/key`, { query: { key: 'none' } })).status).toBe(404);
  });

  it('long-polls until a message arrives', async () => {
    const started = Date.now();
    const waiting = consume({ offset: -1, poll: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await s.request('POST', `/message/${log}`, { body: { value: 'wake' } });
    const res = await waiting;
    expect(res.body.messages.map((m: { value: string }) => m.value)).toEqual(['wake']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('long-poll returns empty after the poll time', async () => {
    const started = Date.now();
    const res = await consume({ offset: -1, poll: 300 });
    expect(res.body).toEqual({ next_offset: 0, encoding: 'string', messages: [] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('a long-poll whose client goes away does not disturb later requests', async () => {
    const controller = new AbortController();
    const abandoned = s.request('GET', `/messages/${log}`, { query: { poll: 60_000 }, signal: controller.signal }).catch(() => 'aborted');
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect(await abandoned).toBe('aborted');
    await s.request('POST', `/message/${log}`, { body: { value: 'after' } });
    expect((await consume({ offset: 0 })).body.messages[0].value).toBe('after');
  });

  it('publishes from many concurrent clients without gaps or duplicates', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => s.request('POST', `/message/${log}`, { body: { value: String(i) } })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(new Set(results.map((r) => r.body.next_offset)).size).toBe(200);
    const all = await consume({ offset: 0, len: 1000 });
    expect(all.body.messages.map((m: { offset: number }) => m.offset)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(new Set(all.body.messages.map((m: { value: string }) => m.value)).size).toBe(200);
  });
});
