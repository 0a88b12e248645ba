import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, longPollsWaiting, METRICS_TOKEN, request, startTestServer, type TestServer } from './helpers/server.js';

const PER_TOKEN = 3;

describe('the bound on long-polls per token', () => {
  let s: TestServer;
  let log: string;
  let narrow: string;
  beforeAll(async () => {
    s = await startTestServer({ maxLongPolls: 10, maxLongPollsPerToken: PER_TOKEN, metricsToken: METRICS_TOKEN });
    log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    // A token that may only read this one log: the least an attacker needs.
    narrow = (await s.request('POST', '/tokens', { body: { acl: [`messages:consume:${log}`] } })).body.bearer;
  });
  afterAll(async () => {
    await s.close();
  });

  const poll = (token: string | undefined) => request(s.url, 'GET', `/messages/${log}`, { query: { offset: 0, poll: 30_000 }, token });

  it('refuses a token its next long-poll once it holds its share, while other tokens still park; a publish wakes them all', async () => {
    const mine = Array.from({ length: PER_TOKEN }, () => poll(narrow));
    await eventually(async () => expect(await longPollsWaiting(s.url)).toBe(PER_TOKEN));
    const refused = await poll(narrow);
    expect([refused.status, refused.body.error, refused.headers.get('retry-after')]).toEqual([429, 'ERR_KLEV_API_0160', '5']);
    expect(refused.body.details).toContain(`this token already holds ${PER_TOKEN}`);
    // Not answered from the data: nothing was published, and a consume that would not wait is never refused.
    expect((await request(s.url, 'GET', `/messages/${log}`, { query: { offset: 0 }, token: narrow })).status).toBe(200);

    const admins = [poll(undefined), poll(undefined)];
    await eventually(async () => expect(await longPollsWaiting(s.url)).toBe(PER_TOKEN + 2));
    expect((await s.request('POST', `/message/${log}`, { body: { value: 'wake' } })).status).toBe(200);
    for (const answer of await Promise.all([...mine, ...admins])) {
      expect(answer.status).toBe(200);
      expect(answer.body.messages).toHaveLength(1);
    }
    // The places are given back: the token may wait again.
    expect(await longPollsWaiting(s.url)).toBe(0);
    const again = request(s.url, 'GET', `/messages/${log}`, { query: { offset: 1, poll: 200 }, token: narrow });
    expect((await again).status).toBe(200);
  });
});
