import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, startTestServer, type TestServer } from './helpers/server.js';

/** The background retention job, observed through the API of a running server. */
describe('retention job', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer({ retentionIntervalSeconds: 0.1 });
  });
  afterEach(async () => {
    await s.close();
  });

  const values = async (log: string) =>
    (await s.request('GET', `/messages/${log}`, { query: { offset: -2, len: 1000 } })).body.messages.map((m: { key?: string; value?: string }) =>
      m.key === undefined ? m.value : `${m.key}=${m.value ?? 'nil'}`,
    );
  const nowMicros = Date.now() * 1000;
  const secondsAgo = (seconds: number) => nowMicros - seconds * 1_000_000;

  it('trims messages older than trim_seconds', async () => {
    const log = (await s.request('POST', '/logs', { body: { trim_seconds: 60 } })).body.log_id;
    await s.request('POST', `/messages/${log}`, {
      body: { messages: [{ value: 'old', time: secondsAgo(120) }, { value: 'older-ok', time: secondsAgo(90) }, { value: 'new' }] },
    });
    await eventually(async () => expect(await values(log)).toEqual(['new']));
    // Get-by-offset of a trimmed offset returns the next available message.
    expect((await s.request('GET', `/message/${log}`, { query: { offset: 0 } })).body).toMatchObject({ offset: 2, value: 'new' });
    // Consuming from the start begins at the first message still there.
    expect((await s.request('GET', `/messages/${log}`, { query: { offset: -2 } })).body.next_offset).toBe(3);
  });

  it('trims the oldest messages above trim_bytes', async () => {
    const log = (await s.request('POST', '/logs', { body: { trim_bytes: 250 } })).body.log_id;
    const messages = Array.from({ length: 10 }, (_, i) => ({ value: `${i}`.padEnd(100, '.') }));
    await s.request('POST', `/messages/${log}`, { body: { messages } });
    await eventually(async () => expect((await values(log)).map((v: string) => v[0])).toEqual(['8', '9']));
  });

  it('compacts a compacting log to the newest message per key', async () => {
    const log = (await s.request('POST', '/logs', { body: { compacting: true } })).body.log_id;
    await s.request('POST', `/messages/${log}`, {
      body: { messages: [{ key: 'a', value: '1' }, { key: 'b', value: '1' }, { key: 'a', value: '2' }, { value: 'no key' }, { key: 'a', value: '3' }] },
    });
    await eventually(async () => expect(await values(log)).toEqual(['b=1', 'no key', 'a=3']));
  });

  it('waits compact_seconds before removing an overwritten message', async () => {
    const log = (await s.request('POST', '/logs', { body: { compacting: true, compact_seconds: 3600 } })).body.log_id;
    await s.request('POST', `/messages/${log}`, {
      body: {
        messages: [
          { key: 'a', value: 'old', time: secondsAgo(7200) },
          { key: 'b', value: 'young' },
          { key: 'b', value: 'younger' },
          { key: 'a', value: 'new' },
        ],
      },
    });
    await eventually(async () => expect(await values(log)).toEqual(['b=young', 'b=younger', 'a=new']));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await values(log)).toEqual(['b=young', 'b=younger', 'a=new']);
  });

  it('expires keyed messages without a value after expire_seconds', async () => {
    const log = (await s.request('POST', '/logs', { body: { compacting: true, expire_seconds: 60 } })).body.log_id;
    await s.request('POST', `/messages/${log}`, {
      body: { messages: [{ key: 'gone', time: secondsAgo(120) }, { key: 'fresh' }, { key: 'kept', value: 'v', time: secondsAgo(120) }] },
    });
    await eventually(async () => expect(await values(log)).toEqual(['fresh=nil', 'kept=v']));
  });

  it('leaves logs without retention settings alone', async () => {
    const log = (await s.request('POST', '/logs', { body: {} })).body.log_id;
    await s.request('POST', `/messages/${log}`, { body: { messages: [{ key: 'a', value: '1', time: 1 }, { key: 'a' }] } });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await values(log)).toEqual(['a=1', 'a=nil']);
  });

  it('forgets app portal tokens once they expire, and no other token', async () => {
    const app = (await s.request('POST', '/api/v1/app', { body: { name: 'portal' } })).body.id as string;
    const portal = (await s.request('POST', `/api/v1/auth/app-portal-access/${app}`, { body: { expiry: 1 } })).body.token as string;
    const lasting = (await s.request('POST', `/api/v1/auth/app-portal-access/${app}`, { body: {} })).body.token as string;
    const tokenOf = (bearer: string) => `/token/tok_${bearer.split('_')[0]}`;
    expect((await s.request('GET', tokenOf(portal))).status).toBe(200);
    await eventually(async () => expect((await s.request('GET', tokenOf(portal))).status).toBe(404), 5_000);
    expect((await s.request('GET', tokenOf(lasting))).status).toBe(200);
  });
});
