import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/server.js';

describe('logs API', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
  });
  afterEach(async () => {
    await s.close();
  });

  it('creates a log with the documented shape, omitting unset settings', async () => {
    const res = await s.request('POST', '/logs', { body: { metadata: 'example log', trim_seconds: 86400 } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ log_id: expect.stringMatching(/^log_[0-9A-Za-z]{27}$/), metadata: 'example log', compacting: false, trim_seconds: 86400 });
  });

  it('returns every retention setting that is set', async () => {
    const body = { metadata: 'kv', compacting: true, trim_bytes: 1000, trim_seconds: 60, compact_seconds: 30, expire_seconds: 10 };
    const created = (await s.request('POST', '/logs', { body })).body;
    expect(created).toEqual({ log_id: created.log_id, ...body });
    expect((await s.request('GET', `/log/${created.log_id}`)).body).toEqual(created);
  });

  it('lists logs, filtered by metadata', async () => {
    const a = (await s.request('POST', '/logs', { body: { metadata: 'a' } })).body;
    const b = (await s.request('POST', '/logs', { body: { metadata: 'b' } })).body;
    expect((await s.request('GET', '/logs')).body.logs).toEqual([a, b]);
    expect((await s.request('GET', '/logs', { query: { metadata: 'b' } })).body.logs).toEqual([b]);
  });

  it('deletes a log and its messages and offsets', async () => {
    const log = (await s.request('POST', '/logs', { body: { metadata: 'doomed' } })).body;
    await s.request('POST', `/message/${log.log_id}`, { body: { value: 'v' } });
    const offset = (await s.request('POST', '/offsets', { body: { log_id: log.log_id } })).body;
    const deleted = await s.request('DELETE', `/log/${log.log_id}`);
    expect(deleted).toMatchObject({ status: 200, body: log });
    expect((await s.request('GET', `/log/${log.log_id}`)).status).toBe(404);
    expect((await s.request('GET', `/messages/${log.log_id}`, { query: { offset: -2 } })).status).toBe(404);
    expect((await s.request('GET', `/offset/${offset.offset_id}`)).status).toBe(404);
    expect((await s.request('DELETE', `/log/${log.log_id}`)).body.error).toBe('ERR_KLEV_API_0107');
  });

  it('refuses compact_seconds on a log that is not compacting', async () => {
    const res = await s.request('POST', '/logs', { body: { compact_seconds: 5 } });
    expect(res).toMatchObject({ status: 400, body: { error: 'ERR_KLEV_API_0102' } });
    expect((await s.request('GET', '/logs')).body.logs).toEqual([]);
  });
});
